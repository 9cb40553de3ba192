"""Small Object Matters (Hwang et al. 2025): zoom-in crop consistency around any localizer."""
from typing import List, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModel

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, WSOLDataSample
from wsol_mm.utils.typing_utils import ConfigType, OptSampleList, SampleList

from ..localizers.base_localizer import BaseLocalizer
from ..normalizers import MinMaxNorm
from ..utils.cam_utils import resize_cams
from ..utils.crop_ops import (
    boxes_to_pixels,
    cosine_consistency,
    crop_and_zoom,
    crop_boxes,
    paste_zoom_maps,
    small_box_mask,
)
from ..utils.precision import at_least_float32

_MOVED = dict(norm_method='model.test_cfg.norm=dict(type=...)',
              percentile='model.test_cfg.norm.percentile')


@MODELS.register_module()
class CropConsistency(BaseLocalizer):
    """Two-pass zoom-in consistency wrapped around a localizer (CNN or transformer).

    The wrapped localizer is used only through its interface: ``forward_train`` (one
    pass: logits, class maps, its methods' / necks' inputs), ``pass_losses`` (its own
    terms of a pass), ``forward_cams`` and its CAM post-processor. It keeps its
    parameters and checkpoint keys: the wrapper adopts its sub-modules, so a checkpoint
    of the plain localizer loads into the wrapped one and back (e.g. crop fine-tuning of
    a DA-WSOL checkpoint).

    Training (when ``enabled``): the GT-class map of the original pass (the
    class-agnostic map with ``class_agnostic``) is normalised; a square box around all
    cells above ``tau * max`` is cropped from the (augmented, normalised) input and
    zoomed bicubically to the input size; the zoom pass gives ``M_zoom`` (its
    normalised map pasted back, at input resolution, into a detached ``M_orig``). With
    ``CE`` = the wrapped localizer's ``loss_cls`` of a pass::

        loss_cls       = w * l3 * (CE_orig + CE_zoom)
        loss_crop_cons = w * 2 * (1 - l3) * (l1 * L_pos - l2 * L_neg + 1)
        <term>         = r * (term_orig + term_zoom)   for every other loss term

    with ``w = crop_method_loss_ratio`` and ``r = other_method_loss_ratio`` (other terms
    = method components such as DA-WSOL, training necks such as LCA-MD's TFCM). Logged:
    ``crop_ce_orig``, ``crop_ce_zoom``, ``crop_cons_pos``, ``crop_cons_neg``. Only
    ``M_orig`` carries gradient in the consistency term. When disabled (before
    ``CropConsistencyHook``'s start epoch) the loss is the wrapped localizer's.

    Inference (``test_zoom``): the same two passes in eval mode; images whose box
    covers less than ``nu`` of the grid get the pasted map, others ``M_orig``; the
    wrapped localizer's post-processor (``test_cfg.norm``) makes the final maps. Works
    on a model trained without this wrapper (no parameters of its own).

    Args:
        localizer (str | dict | nn.Module): the wrapped localizer: its type name (the
            remaining keyword arguments then configure it, so a crop config can
            inherit a method's config and set ``type='CropConsistency'``,
            ``localizer='<its type>'``), a config dict, or a module.
        crop_threshold (float): tau, box threshold as a fraction of the map max.
        crop_ratio (float): nu, inference-only box-area ratio below which the pasted
            map is used (0 = never, 1 = any box smaller than the grid).
        loss_pos (float): lambda1, weight of ``L_pos``.
        loss_neg (float): lambda2, weight of ``L_neg``.
        loss_ratio (float): lambda3, classification/consistency balance.
        class_agnostic (bool): crop from the class-agnostic map ("CAAM").
        crop_with_norm (bool): use the localizer's ``test_cfg.norm`` (its training
            flavour) inside the two-pass computation; otherwise min-max, as released.
        released_union (bool): replay the released contour-union loop, which can drop
            edges of earlier contours (default: true union).
        enabled (bool): training consistency on (``CropConsistencyHook`` sets it per
            epoch). Defaults to True.
        test_zoom (bool): two-pass inference. Defaults to True.
        zoom_topk_cams (bool): also zoom the top-k predicted-class maps (``pred_cams``);
            off = single-pass maps there, like the released evaluation. Defaults to False.
        other_method_loss_ratio (float): r above. Defaults to 1.
        crop_method_loss_ratio (float): w above. Defaults to 1.
        **localizer_cfg: the wrapped localizer's arguments when ``localizer`` is a type
            name or a dict.
    """

    #: Epoch switches this wrapper offers (``EpochSwitchHook``): name -> attribute.
    epoch_switches = dict(crop_consistency='enabled')

    def __init__(self,
                 localizer: Union[str, ConfigType, nn.Module],
                 crop_threshold: float = 0.15,
                 crop_ratio: float = 0.1,
                 loss_pos: float = 0.5,
                 loss_neg: float = 0.5,
                 loss_ratio: float = 0.5,
                 class_agnostic: bool = False,
                 crop_with_norm: bool = False,
                 released_union: bool = False,
                 enabled: bool = True,
                 test_zoom: bool = True,
                 zoom_topk_cams: bool = False,
                 other_method_loss_ratio: float = 1.0,
                 crop_method_loss_ratio: float = 1.0,
                 **localizer_cfg) -> None:
        inner = _build_localizer(localizer, localizer_cfg)
        # Not BaseLocalizer.__init__: the wrapped localizer owns the post-processor,
        # methods and preprocessor; the wrapper adopts its sub-modules (same keys).
        BaseModel.__init__(self, data_preprocessor=inner.data_preprocessor)
        for name, child in inner.named_children():
            self.add_module(name, child)
        self.__dict__['_localizer'] = inner  # not a child: its children are ours
        self.train_cfg, self.test_cfg = inner.train_cfg, inner.test_cfg
        for key, val in (('crop_threshold', crop_threshold), ('loss_ratio', loss_ratio)):
            if not 0 <= val <= 1:
                raise ValueError(f'CropConsistency: {key} must be in [0, 1], got {val} '
                                 f'(key `model.{key}`)')
        if crop_ratio < 0:
            raise ValueError(f'CropConsistency: crop_ratio must be >= 0, got {crop_ratio}')
        self.crop_threshold, self.crop_ratio = crop_threshold, crop_ratio
        self.loss_pos, self.loss_neg, self.loss_ratio = loss_pos, loss_neg, loss_ratio
        self.class_agnostic = class_agnostic
        self.crop_with_norm = crop_with_norm
        self.released_union = released_union
        self.enabled, self.test_zoom, self.zoom_topk_cams = enabled, test_zoom, zoom_topk_cams
        self.other_method_loss_ratio = other_method_loss_ratio
        self.crop_method_loss_ratio = crop_method_loss_ratio
        self._minmax = MinMaxNorm()

    @property
    def localizer(self) -> BaseLocalizer:
        """The wrapped localizer."""
        return self.__dict__['_localizer']

    def extra_repr(self) -> str:
        return (f'wraps={type(self.localizer).__name__}, tau={self.crop_threshold}, '
                f'nu={self.crop_ratio}, l1={self.loss_pos}, l2={self.loss_neg}, '
                f'l3={self.loss_ratio}, caam={self.class_agnostic}, enabled={self.enabled}')

    def train(self, mode: bool = True) -> 'CropConsistency':
        super().train(mode)
        self.localizer.training = mode
        return self

    def init_weights(self) -> None:
        self.localizer.init_weights()

    # The wrapped localizer's interface, unchanged.
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.localizer.extract_feat(inputs)

    def forward_cams(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        return self.localizer.forward_cams(feats)

    def forward_train(self, inputs: torch.Tensor, data_samples: OptSampleList = None):
        return self.localizer.forward_train(inputs, data_samples)

    def pass_losses(self, fp, data_samples: SampleList) -> dict:
        return self.localizer.pass_losses(fp, data_samples)

    def legacy_key_map(self) -> dict:
        return self.localizer.legacy_key_map()

    def _norm(self, maps: torch.Tensor) -> torch.Tensor:
        """Normalisation inside the two passes (training flavour)."""
        norm = self.localizer.cam_norm if self.crop_with_norm else self._minmax
        return norm.train_norm(maps)

    @property
    def _interpolation(self) -> str:
        """Upsampling of the maps: the localizer's ``test_cfg.interpolation`` (bicubic for
        the CNN configs, as released; bilinear for the TS-CAM family)."""
        return self.localizer.postprocessor.interpolation

    def _raw_maps(self, cams: ClassMapOutput, labels: torch.Tensor) -> torch.Tensor:
        """``(B, 1, h, w)`` maps the crop is made from, at least float32."""
        raw = cams.agnostic() if self.class_agnostic else cams.maps(labels)
        return at_least_float32(raw)

    def _original_maps(self, cams: ClassMapOutput, labels: torch.Tensor,
                       input_hw: Tuple[int, int]) -> tuple:
        """``M_orig`` at input size (with graph), grid boxes, pixel boxes, grid size."""
        with torch.autocast(device_type=cams.logits.device.type, enabled=False):
            m_grid = self._norm(self._raw_maps(cams, labels))
            grid_hw = tuple(m_grid.shape[-2:])
            boxes = crop_boxes(m_grid[:, 0], self.crop_threshold, self.released_union)
            boxes_px = boxes_to_pixels(boxes, grid_hw, input_hw)
            m_orig = self._norm(resize_cams(m_grid, input_hw, self._interpolation))
        return m_orig, boxes, boxes_px, grid_hw

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Two-pass loss (see the class docstring); the localizer's own loss when disabled."""
        if not self.enabled:
            return self.localizer.loss(inputs, data_samples)
        input_hw = tuple(inputs.shape[-2:])
        fp_orig = self.forward_train(inputs, data_samples)
        labels = fp_orig.require_labels('CropConsistency')
        terms_orig = self.pass_losses(fp_orig, data_samples)
        m_orig, _, boxes_px, _ = self._original_maps(fp_orig.cams, labels, input_hw)
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            x_zoom = crop_and_zoom(at_least_float32(inputs.detach()), boxes_px, input_hw)
        fp_zoom = self.forward_train(x_zoom, data_samples)
        terms_zoom = self.pass_losses(fp_zoom, data_samples)
        with torch.autocast(device_type=inputs.device.type, enabled=False):
            m_zoom = paste_zoom_maps(m_orig, self._raw_maps(fp_zoom.cams, labels), boxes_px,
                                     self._norm, self._interpolation)
            l_con, l_pos, l_neg = cosine_consistency(m_orig, m_zoom, self.loss_pos,
                                                     self.loss_neg)
        ce_orig, ce_zoom = terms_orig.pop('loss_cls'), terms_zoom.pop('loss_cls')
        weight = self.crop_method_loss_ratio
        losses = dict(loss_cls=weight * self.loss_ratio * (ce_orig + ce_zoom),
                      loss_crop_cons=weight * 2 * (1 - self.loss_ratio) * l_con)
        for key, val in terms_orig.items():  # other components: both passes, weighted
            losses[key] = (self.other_method_loss_ratio * (val + terms_zoom[key])
                           if key.startswith('loss') else val)
        losses.update(crop_ce_orig=ce_orig.detach(), crop_ce_zoom=ce_zoom.detach(),
                      crop_cons_pos=l_pos.detach(), crop_cons_neg=l_neg.detach())
        return losses

    def zoom_maps(self, inputs: torch.Tensor, cams: ClassMapOutput,
                  labels: torch.Tensor) -> torch.Tensor:
        """Inference maps ``(B, H, W)`` at input size for classes ``labels`` (B,).

        Pasted map where the box is smaller than ``nu`` of the grid, else ``M_orig``;
        only those images run the zoom pass (exact in eval mode).
        """
        input_hw = tuple(inputs.shape[-2:])
        m_orig, boxes, boxes_px, grid_hw = self._original_maps(cams, labels, input_hw)
        out = m_orig.detach()
        small = np.nonzero(small_box_mask(boxes, grid_hw, self.crop_ratio))[0]
        if small.size:
            idx = torch.as_tensor(small, device=inputs.device)
            with torch.autocast(device_type=inputs.device.type, enabled=False):
                x_zoom = crop_and_zoom(at_least_float32(inputs[idx]), boxes_px[small],
                                       input_hw)
            zoom = self.forward_cams(self.extract_feat(x_zoom))
            with torch.autocast(device_type=inputs.device.type, enabled=False):
                out = out.clone()
                out[idx] = paste_zoom_maps(m_orig[idx], self._raw_maps(zoom, labels[idx]),
                                           boxes_px[small], self._norm, self._interpolation)
        return out[:, 0]

    def predict(self, inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> List[WSOLDataSample]:
        """Scores of the original pass and two-pass maps, through the localizer's
        post-processor (the GT-class column is zoomed; top-k columns only with
        ``zoom_topk_cams``)."""
        if not self.test_zoom:
            return self.localizer.predict(inputs, data_samples)
        input_hw = tuple(inputs.shape[-2:])
        cams = self.forward_cams(self.extract_feat(inputs))

        def select(classes: torch.Tensor) -> torch.Tensor:
            columns = []
            for k in range(classes.shape[1]):
                if k == 0 or self.zoom_topk_cams:
                    columns.append(self.zoom_maps(inputs, cams, classes[:, k]))
                else:
                    raw = self._raw_maps(cams, classes[:, k])
                    columns.append(resize_cams(raw, input_hw, self._interpolation)[:, 0])
            return torch.stack(columns, dim=1)

        return self.localizer.postprocessor(ClassMapOutput(cams.logits, select), data_samples,
                                            input_size=input_hw)


def _build_localizer(localizer: Union[str, ConfigType, nn.Module],
                     localizer_cfg: dict) -> BaseLocalizer:
    """The wrapped localizer from a type name / dict plus keyword arguments, or a module."""
    moved = sorted(set(localizer_cfg) & set(_MOVED))
    if moved:
        raise KeyError(f'CropConsistency: {moved} moved to the localizer\'s post-processor: '
                       f'use {", ".join(_MOVED[k] for k in moved)} (one normaliser for every '
                       'method) and `crop_with_norm=True` to use it inside the two passes')
    if isinstance(localizer, nn.Module):
        if localizer_cfg:
            raise TypeError(f'CropConsistency: unexpected arguments {sorted(localizer_cfg)} '
                            'next to a built localizer')
        inner = localizer
    else:
        cfg = dict(type=localizer) if isinstance(localizer, str) else dict(localizer)
        clash = sorted(set(cfg) & set(localizer_cfg))
        if clash:
            raise KeyError(f'CropConsistency: {clash} given both in `localizer` and beside it')
        cfg.update(localizer_cfg)
        inner = MODELS.build(cfg)
    if not isinstance(inner, BaseLocalizer) or isinstance(inner, CropConsistency):
        raise TypeError(f'CropConsistency wraps a localizer (CAMLocalizer, TSCAMLocalizer, '
                        f'...), got {type(inner).__name__} (key `model.localizer`)')
    return inner
