"""Box helpers with wsolevaluation's conventions (inclusive xyxy pixel boxes)."""
from typing import Tuple

import numpy as np

try:  # numba is optional: the numpy path gives the same map
    from ._union_find_kernels import quantize_map as _quantize_map
except ImportError:  # pragma: no cover - depends on the environment
    _quantize_map = None

__all__ = ['box_iou', 'check_box_convention', 'rescale_boxes', 'quantize_cam', 'check_scoremap']


def check_box_convention(boxes: np.ndarray) -> np.ndarray:
    """Return ``boxes`` as an (N, 4) float64 array; raise if not x0<=x1, y0<=y1, >=0.

    Args:
        boxes (np.ndarray): boxes ``(N, 4)`` in xyxy.

    Returns:
        np.ndarray: the boxes as float64 ``(N, 4)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if np.isnan(boxes).any():
        raise RuntimeError(f'Box coordinates must be numbers, got NaN in {boxes.tolist()}')
    if (boxes < 0).any():
        raise RuntimeError(f'Box coordinates must be non-negative, got {boxes.tolist()}')
    if (boxes[:, 2] < boxes[:, 0]).any() or (boxes[:, 3] < boxes[:, 1]).any():
        raise RuntimeError(f'Boxes must satisfy x0<=x1 and y0<=y1, got {boxes.tolist()}')
    return boxes


def box_iou(boxes_a: np.ndarray, boxes_b: np.ndarray, check: bool = True) -> np.ndarray:
    """All-pairs IoU with the inclusive (+1) pixel convention of wsolevaluation.

    Args:
        boxes_a (np.ndarray): ``(N, 4)`` xyxy boxes.
        boxes_b (np.ndarray): ``(M, 4)`` xyxy boxes.
        check (bool): check the box convention (skip for boxes already checked).
            Defaults to True.

    Returns:
        np.ndarray: ``(N, M)`` IoUs; 0 where the union is not positive.
    """
    if check:
        boxes_a, boxes_b = check_box_convention(boxes_a), check_box_convention(boxes_b)
    a = np.asarray(boxes_a, np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(boxes_b, np.float64).reshape(-1, 4)[None, :, :]
    iw = np.maximum(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1, 0)
    ih = np.maximum(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1, 0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros(union.shape), where=union > 0)


def rescale_boxes(boxes: np.ndarray, src_wh: Tuple[int, int],
                  dst_wh: Tuple[int, int] = (224, 224)) -> np.ndarray:
    """Scale boxes per axis and truncate to int, exactly as wsolevaluation's ``resize_bbox``.

    Each coordinate is ``int(x * dst / src)`` in float64, multiplied before dividing
    (``x * (dst / src)`` rounds differently for a few coordinates).

    Args:
        boxes (np.ndarray): ``(N, 4)`` xyxy boxes in the source frame.
        src_wh (tuple): source ``(W, H)``.
        dst_wh (tuple): target ``(W, H)``. Defaults to (224, 224).

    Returns:
        np.ndarray: ``(N, 4)`` int64 boxes (x0 and x1 use the same formula, no +1 handling).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.empty_like(boxes)
    out[:, 0::2] = boxes[:, 0::2] * float(dst_wh[0]) / float(src_wh[0])
    out[:, 1::2] = boxes[:, 1::2] * float(dst_wh[1]) / float(src_wh[1])
    return out.astype(np.int64)


def check_scoremap(cam: np.ndarray, name: str = 'score map') -> np.ndarray:
    """Validate a 2-D float map in [0, 1] without NaN; return it as float64.

    Args:
        cam (np.ndarray): the map.
        name (str): how to call it in errors. Defaults to 'score map'.

    Returns:
        np.ndarray: the map as a float64 array.
    """
    cam = np.asarray(cam, dtype=np.float64)
    if cam.ndim != 2:
        raise ValueError(f'{name} must be 2-D (H, W), got shape {cam.shape}')
    if np.isnan(cam).any():
        raise ValueError(f'{name} contains NaN')
    if cam.size and (cam.min() < 0 or cam.max() > 1):
        raise ValueError(f'{name} values must be in [0, 1], got [{cam.min()}, {cam.max()}]')
    return cam


def quantize_cam(cam: np.ndarray) -> np.ndarray:
    """uint8 map by truncation ``floor(255 * s)`` as wsolevaluation (s = 1 -> 255).

    Args:
        cam (np.ndarray): map in [0, 1] (validated: 2-D, no NaN); uint8 maps pass through.

    Returns:
        np.ndarray: uint8 ``(H, W)`` map.
    """
    cam = cam.detach().cpu().numpy() if hasattr(cam, 'detach') else np.asarray(cam)
    if cam.dtype == np.uint8:
        return cam
    if _quantize_map is not None and cam.ndim == 2 and cam.dtype in (np.float32, np.float64):
        out = np.empty(cam.shape, np.uint8)
        if _quantize_map(np.ascontiguousarray(cam), out):  # one pass: check and quantise
            check_scoremap(cam)  # raises the precise message
        return out
    return (check_scoremap(cam) * 255).astype(np.uint8)
