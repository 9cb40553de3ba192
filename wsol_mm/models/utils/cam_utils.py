"""CAM post-processing shared by every head and localizer (float32, even under AMP)."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from wsol_mm.structures import WSOLDataSample

from .precision import at_least_float32


def normalize_cams(cams: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Min-max normalise each map of ``(..., H, W)`` to [0, 1].

    Constant or non-finite maps become all zeros (wsolevaluation's
    ``normalize_scoremap``), instead of NaN.
    """
    cams = at_least_float32(cams)
    flat = cams.flatten(-2)
    finite = torch.isfinite(flat).all(-1, keepdim=True)
    flat = torch.where(finite, flat, torch.zeros_like(flat))
    low = flat.min(-1, keepdim=True).values
    high = flat.max(-1, keepdim=True).values
    span = high - low
    valid = finite & (span > eps)
    out = torch.where(valid, (flat - low) / span.clamp_min(1e-12), torch.zeros_like(flat))
    return out.view_as(cams)


def resize_cams(cams: torch.Tensor, size: Tuple[int, int], mode: str = 'bicubic') -> torch.Tensor:
    """Resize ``(B, K, h, w)`` maps to ``size=(H, W)`` (half-pixel centres, as OpenCV)."""
    if tuple(cams.shape[-2:]) == tuple(size):
        return at_least_float32(cams)
    kwargs = dict(align_corners=False) if mode in ('bilinear', 'bicubic') else {}
    return F.interpolate(at_least_float32(cams), size=tuple(size), mode=mode, **kwargs)


def select_cam_classes(scores: torch.Tensor, data_samples: Optional[Sequence[WSOLDataSample]],
                       topk: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Classes whose maps ``predict`` writes: GT class and the top-k predictions.

    Returns:
        tuple: ``gt_classes`` (B,) (the top-1 class for samples without a label)
        and ``topk_classes`` (B, k).
    """
    k = max(1, min(topk, scores.shape[1]))
    topk_classes = scores.topk(k, dim=1).indices
    gt = topk_classes[:, 0].clone()
    if data_samples is not None:
        for i, sample in enumerate(data_samples):
            if 'gt_label' in sample:
                gt[i] = sample.gt_label.to(gt.device).view(-1)[0]
    return gt, topk_classes


def pack_cam_predictions(logits: torch.Tensor,
                         cam_fn: Callable[[torch.Tensor], torch.Tensor],
                         data_samples: Optional[List[WSOLDataSample]],
                         topk_cams: int = 5,
                         interpolation: str = 'bicubic',
                         input_size: Optional[Tuple[int, int]] = None,
                         normalize_fn: Callable[[torch.Tensor], torch.Tensor] = normalize_cams
                         ) -> List[WSOLDataSample]:
    """Write ``pred_score``/``pred_label``/``pred_cam``/``pred_cams`` into samples.

    Args:
        logits (Tensor): ``(B, C)`` class logits.
        cam_fn (Callable): maps class indices ``(B, K)`` to raw maps ``(B, K, h, w)``.
        data_samples (list, optional): samples to fill (new ones if None).
        topk_cams (int): also write maps of the top-k predicted classes
            (``pred_cams``, ``pred_cam_labels``); 0 writes only the GT map.
        interpolation (str): upsampling mode of the maps. Defaults to 'bicubic'.
        input_size (tuple, optional): ``(H, W)`` used when a sample has no
            ``img_shape``.
        normalize_fn (Callable): per-map normalisation after resizing.
            Defaults to min-max (``normalize_cams``).
    """
    logits = at_least_float32(logits)
    scores = logits.softmax(dim=1)
    b = logits.shape[0]
    if data_samples is None:
        data_samples = [WSOLDataSample() for _ in range(b)]
    gt, topk_classes = select_cam_classes(scores, data_samples, topk_cams)
    classes = torch.cat([gt[:, None], topk_classes], dim=1) if topk_cams > 0 else gt[:, None]
    raw = at_least_float32(cam_fn(classes))
    for i, sample in enumerate(data_samples):
        size = sample.metainfo.get('img_shape', input_size)
        if size is None:
            raise ValueError('data sample has no `img_shape`; pass input_size')
        maps = normalize_fn(resize_cams(raw[i:i + 1], size[:2], interpolation))[0]
        sample.set_pred_score(scores[i].detach())
        sample.set_pred_label(scores[i].argmax().item())
        sample.pred_cam = maps[0].detach()
        if topk_cams > 0:
            sample.pred_cams = maps[1:].detach()
            sample.pred_cam_labels = topk_classes[i].detach()
    return data_samples


def largest_box_from_cam(cam, cam_thr: float) -> Tuple[int, int, int, int]:
    """Box of the largest contour of ``cam > cam_thr`` (wsolevaluation v1 conventions).

    Args:
        cam (Tensor | np.ndarray): ``(H, W)`` map in [0, 1].
        cam_thr (float): threshold as a fraction of the map's uint8 maximum.

    Returns:
        tuple: ``(x0, y0, x1, y1)``; ``(0, 0, 0, 0)`` when nothing passes.
    """
    import cv2
    import numpy as np
    cam = cam.detach().cpu().numpy() if isinstance(cam, torch.Tensor) else np.asarray(cam)
    u8 = (cam * 255).astype(np.uint8)
    _, mask = cv2.threshold(u8, int(cam_thr * u8.max()), 255, cv2.THRESH_BINARY)
    contours = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
    if not contours:
        return 0, 0, 0, 0
    x, y, w, h = cv2.boundingRect(max(contours, key=cv2.contourArea))
    return x, y, min(x + w, cam.shape[1] - 1), min(y + h, cam.shape[0] - 1)
