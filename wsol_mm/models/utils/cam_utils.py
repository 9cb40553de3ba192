"""CAM helpers of the post-processor and crop consistency (at least float32, even under AMP)."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from wsol_mm.structures import WSOLDataSample

from .precision import at_least_float32


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
