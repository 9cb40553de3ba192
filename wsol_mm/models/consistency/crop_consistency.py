"""Small Object Matters (Hwang et al. 2025): zoom-in crop consistency for CAM localizers."""
from functools import partial
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import SampleList

from ..utils import pack_cam_predictions, resize_cams
from ..utils.precision import at_least_float32
from .crop_ops import (
    NORM_MODES,
    boxes_to_pixels,
    cosine_consistency,
    crop_and_zoom,
    crop_boxes,
    logits_and_maps,
    normalize_eval,
    normalize_train,
    paste_zoom_maps,
    small_box_mask,
)


@MODELS.register_module()
class CropConsistency(nn.Module):
    """Two-pass zoom-in consistency, plugged into ``CAMLocalizer(consistency=...)``.

    Training (when ``enabled``): the GT-class map of the original pass is
    normalised (``M_orig``); a square box around all cells above ``tau * max`` is
    cropped from the (augmented, normalised) input and zoomed bicubically to the
    input size; the zoom pass gives ``M_zoom`` (its normalised map pasted back
    into a detached ``M_orig``; ``M_bg = 1 - M_zoom``). The loss is::

        L = 2*l3 * (CE_o + CE_z)/2 + 2*(1 - l3) * (l1*L_pos - l2*L_neg + 1)

    returned as ``loss_cls`` (first term) and ``loss_cons`` (second term); the
    parts are logged as ``ce_orig``, ``ce_zoom``, ``cons_pos``, ``cons_neg``. Maps
    are pasted at input resolution (the released evaluation path; the released
    training path crashed on grid-sized maps). Only ``M_orig`` carries gradient
    in the consistency term. When disabled the loss is the head's plain CE.

    Inference (``test_zoom``): the same two passes (eval mode); images whose box
    covers less than ``nu`` of the grid get the pasted map, others ``M_orig``.
    Works on a model trained without this component (no parameters of its own).

    DDP: the component has no parameters and both passes use the whole network,
    so every parameter gets a gradient in both modes; ``find_unused_parameters``
    is not needed.

    Args:
        crop_threshold (float): tau, box threshold as a fraction of the map max.
        crop_ratio (float): nu, inference-only box-area ratio below which the
            pasted map is used (0 = never, 1 = any box smaller than the grid).
        loss_pos (float): lambda1, weight of ``L_pos``.
        loss_neg (float): lambda2, weight of ``L_neg``.
        loss_ratio (float): lambda3, classification/consistency balance.
        class_agnostic (bool): use the class-agnostic channel-mean map ("CAAM").
        norm_method (str): 'minmax', 'max', 'pas' or 'ivr' (final score maps, and
            two-pass maps when ``crop_with_norm``).
        percentile (float): percentile of 'ivr'.
        crop_with_norm (bool): use ``norm_method`` also inside the two-pass
            computation (otherwise min-max there, as released).
        released_union (bool): replay the released contour-union loop, which
            can drop edges of earlier contours (default: true union).
        enabled (bool): training consistency on (``CropConsistencyHook`` sets it
            per epoch). Defaults to True.
        test_zoom (bool): two-pass inference. Defaults to True.
        zoom_topk_cams (bool): also zoom the top-k predicted-class maps
            (``pred_cams``); off = single-pass maps there, like the released
            evaluation, which only zooms the GT-class map. Defaults to False.
        other_method_loss_ratio (float): joint training with the localizer's
            ``methods`` (DA-WSOL, Bridging the gap): each method term becomes
            ``ratio * (term(original pass) + term(zoom pass))``. Defaults to 1.
        crop_method_loss_ratio (float): joint training: multiplier of this
            component's ``loss_cls`` and ``loss_cons``. Defaults to 1.
    """

    def __init__(self,
                 crop_threshold: float = 0.15,
                 crop_ratio: float = 0.1,
                 loss_pos: float = 0.5,
                 loss_neg: float = 0.5,
                 loss_ratio: float = 0.5,
                 class_agnostic: bool = False,
                 norm_method: str = 'minmax',
                 percentile: float = 0.6,
                 crop_with_norm: bool = False,
                 released_union: bool = False,
                 enabled: bool = True,
                 test_zoom: bool = True,
                 zoom_topk_cams: bool = False,
                 other_method_loss_ratio: float = 1.0,
                 crop_method_loss_ratio: float = 1.0) -> None:
        super().__init__()
        if norm_method not in NORM_MODES:
            raise ValueError(f'CropConsistency: norm_method must be one of {NORM_MODES}, '
                             f'got {norm_method!r} (key `model.consistency.norm_method`)')
        for key, val in (('crop_threshold', crop_threshold), ('percentile', percentile),
                         ('loss_ratio', loss_ratio)):
            if not 0 <= val <= 1:
                raise ValueError(f'CropConsistency: {key} must be in [0, 1], got {val} '
                                 f'(key `model.consistency.{key}`)')
        if crop_ratio < 0:
            raise ValueError(f'CropConsistency: crop_ratio must be >= 0, got {crop_ratio}')
        self.crop_threshold = crop_threshold
        self.crop_ratio = crop_ratio
        self.loss_pos, self.loss_neg, self.loss_ratio = loss_pos, loss_neg, loss_ratio
        self.class_agnostic = class_agnostic
        self.norm_method, self.percentile = norm_method, percentile
        self.crop_with_norm = crop_with_norm
        self.released_union = released_union
        self.enabled = enabled
        self.test_zoom = test_zoom
        self.zoom_topk_cams = zoom_topk_cams
        self.other_method_loss_ratio = other_method_loss_ratio
        self.crop_method_loss_ratio = crop_method_loss_ratio
        train_mode = norm_method if crop_with_norm else 'minmax'
        self._norm = partial(normalize_train, mode=train_mode, percentile=percentile)
        self._final_norm = partial(normalize_eval, mode=norm_method, percentile=percentile)

    def extra_repr(self) -> str:
        return (f'tau={self.crop_threshold}, nu={self.crop_ratio}, l1={self.loss_pos}, '
                f'l2={self.loss_neg}, l3={self.loss_ratio}, caam={self.class_agnostic}, '
                f'norm={self.norm_method}, enabled={self.enabled}')

    def _original_stage(self, head: nn.Module, feats: Tuple[torch.Tensor, ...],
                        inputs: torch.Tensor, labels: torch.Tensor) -> tuple:
        """Logits, ``M_orig`` at input size (with graph), grid boxes, pixel boxes, grid size."""
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            logits, raw = logits_and_maps(head, feats, labels, self.class_agnostic)
            m_grid = self._norm(raw)
            grid_hw = tuple(m_grid.shape[-2:])
            boxes = crop_boxes(m_grid[:, 0], self.crop_threshold, self.released_union)
            input_hw = tuple(inputs.shape[-2:])
            boxes_px = boxes_to_pixels(boxes, grid_hw, input_hw)
            m_orig = self._norm(resize_cams(m_grid, input_hw, 'bicubic'))
        return logits, m_orig, boxes, boxes_px, grid_hw

    def _zoom_stage(self, localizer: nn.Module, inputs: torch.Tensor, boxes_px: np.ndarray,
                    labels: torch.Tensor, return_feats: bool = False) -> tuple:
        """Logits and raw maps of the zoomed inputs (same network, same mode)
        (+ the zoomed inputs and their features with ``return_feats``)."""
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            x_zoom = crop_and_zoom(at_least_float32(inputs.detach()), boxes_px,
                                   tuple(inputs.shape[-2:]))
        feats = localizer.extract_feat(x_zoom)
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            out = logits_and_maps(localizer.head, feats, labels, self.class_agnostic)
        return (*out, x_zoom, feats) if return_feats else out

    def _joint_method_terms(self, localizer: nn.Module, x_zoom: torch.Tensor,
                            data_samples: SampleList, feats: Tuple[torch.Tensor, ...],
                            losses: dict) -> dict:
        """Weight the methods' terms: ratio * (original pass + zoom pass)."""
        for method in getattr(localizer, 'methods', []):
            if not hasattr(method, 'method_loss'):
                raise TypeError(f'CropConsistency: method {type(method).__name__} has no '
                                '`method_loss` for the zoom pass')
            for key, val in method.method_loss(localizer, x_zoom, data_samples, feats).items():
                if key.startswith('loss_'):
                    losses[key] = self.other_method_loss_ratio * (losses[key] + val)
        return losses

    def loss(self, localizer: nn.Module, inputs: torch.Tensor, data_samples: SampleList,
             feats: Tuple[torch.Tensor, ...], losses: dict) -> dict:
        """Replace the head's ``loss_cls`` by the two-pass loss (see the class docstring).

        ``CE_o`` is recomputed from the logits of the same head pass as ``M_orig``
        (``head.loss_module``), so dropout heads see one mask per pass.
        """
        if not self.enabled:
            return losses
        head = localizer.head
        if 'loss_cls' not in losses or not hasattr(head, 'loss_module'):
            raise KeyError('CropConsistency needs a head with `loss_module` whose loss is '
                           f'`loss_cls`; got {type(head).__name__} with keys {sorted(losses)}')
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        logits, m_orig, _, boxes_px, _ = self._original_stage(head, feats, inputs, labels)
        logits_zoom, zoom_raw, x_zoom, zoom_feats = self._zoom_stage(
            localizer, inputs, boxes_px, labels, return_feats=True)
        ce_orig = head.loss_module(logits, labels)
        ce_zoom = head.loss_module(logits_zoom, labels)
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            m_zoom = paste_zoom_maps(m_orig, zoom_raw, boxes_px, self._norm)
            l_con, l_pos, l_neg = cosine_consistency(m_orig, m_zoom, self.loss_pos,
                                                     self.loss_neg)
        crop_w = self.crop_method_loss_ratio
        losses['loss_cls'] = crop_w * self.loss_ratio * (ce_orig + ce_zoom)
        losses['loss_cons'] = crop_w * 2 * (1 - self.loss_ratio) * l_con
        losses = self._joint_method_terms(localizer, x_zoom, data_samples, zoom_feats, losses)
        losses.update(ce_orig=ce_orig.detach(), ce_zoom=ce_zoom.detach(),
                      cons_pos=l_pos.detach(), cons_neg=l_neg.detach())
        return losses

    def zoom_maps(self, localizer: nn.Module, inputs: torch.Tensor,
                  feats: Tuple[torch.Tensor, ...], labels: torch.Tensor) -> torch.Tensor:
        """Inference maps ``(B, H, W)`` at input size for classes ``labels`` (B,).

        Pasted map where the box is smaller than ``nu`` of the grid, else
        ``M_orig``; only those images run the zoom pass (exact in eval mode).
        """
        head = localizer.head
        _, m_orig, boxes, boxes_px, grid_hw = self._original_stage(head, feats, inputs, labels)
        out = m_orig.detach()
        small = np.nonzero(small_box_mask(boxes, grid_hw, self.crop_ratio))[0]
        if small.size:
            idx = torch.as_tensor(small, device=inputs.device)
            _, zoom_raw = self._zoom_stage(localizer, inputs[idx], boxes_px[small], labels[idx])
            with torch.autocast(device_type=inputs.device.type, enabled=False):
                out = out.clone()
                out[idx] = paste_zoom_maps(m_orig[idx], zoom_raw, boxes_px[small], self._norm)
        return out[:, 0]

    def predict(self, localizer: nn.Module, inputs: torch.Tensor,
                data_samples: Optional[SampleList],
                feats: Tuple[torch.Tensor, ...]) -> List[WSOLDataSample]:
        """Samples with scores and two-pass maps (final ``norm_method`` normalisation)."""
        test_cfg = localizer.test_cfg
        if not self.test_zoom:
            return localizer.head.predict(feats, data_samples, **test_cfg)
        head = localizer.head
        input_hw = tuple(inputs.shape[-2:])

        def cam_fn(classes: torch.Tensor) -> torch.Tensor:
            columns = []
            for k in range(classes.shape[1]):
                if k == 0 or self.zoom_topk_cams:  # column 0 is the GT class
                    columns.append(self.zoom_maps(localizer, inputs, feats, classes[:, k]))
                else:
                    _, raw = logits_and_maps(head, feats, classes[:, k], self.class_agnostic)
                    columns.append(resize_cams(raw, input_hw, test_cfg['interpolation'])[:, 0])
            return torch.stack(columns, dim=1)

        return pack_cam_predictions(head(feats), cam_fn, data_samples,
                                    test_cfg.get('topk_cams', 5), test_cfg['interpolation'],
                                    input_size=input_hw, normalize_fn=self._final_norm)
