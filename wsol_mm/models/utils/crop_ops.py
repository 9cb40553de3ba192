"""Pure pieces of the Small Object Matters crop consistency (each unit-tested).

Conventions: maps are ``(..., h, w)`` in at least float32; boxes are integer ``(x, y, w, h)``
(top-left corner, width, height), in CAM-grid cells or input pixels as named. The map
normalisations are the registered normalisers (``wsol_mm/models/normalizers``).
"""
from typing import Callable, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .cam_utils import resize_cams
from .precision import at_least_float32


def square_box(box: Tuple[int, int, int, int], max_w: int, max_h: int) -> Tuple[int, ...]:
    """Grow the short side of ``(x, y, w, h)`` to the long one, centred, cut at the border.

    The start moves back by ``int(diff / 2)`` (clamped at 0); when the squared box
    would pass the right/bottom border its side is cut to the border (no shift
    back), so boxes at the border stay non-square (released behaviour).
    """
    x, y, w, h = (int(v) for v in box)
    if w < h:
        x = max(int(x - (h - w) / 2), 0)
        w = h if x + h < max_w else max_w - x
    elif w > h:
        y = max(int(y - (w - h) / 2), 0)
        h = w if y + w < max_h else max_h - y
    return x, y, w, h


def _released_union(mask: np.ndarray) -> Optional[Tuple[int, int, int, int]]:
    """Box of the released contour loop (may drop a right/bottom edge), or None."""
    contours = cv2.findContours(mask.astype(np.uint8) * 255, cv2.RETR_TREE,
                                cv2.CHAIN_APPROX_SIMPLE)[-2]
    if len(contours) == 0:
        return None
    x, y, w, h = mask.shape[1], mask.shape[0], 0, 0
    for contour in contours:
        cx, cy, cw, ch = cv2.boundingRect(contour)
        x, y = min(x, cx), min(y, cy)
        # Defect kept on purpose: the edge test uses the NEW x/y with the OLD w/h.
        w = cx + cw - x if cx + cw > x + w else w
        h = cy + ch - y if cy + ch > y + h else h
    return x, y, w, h


def union_box(mask: np.ndarray, released_union: bool = False) -> Optional[Tuple[int, ...]]:
    """One ``(x, y, w, h)`` box around all foreground blobs of a boolean ``(h, w)`` mask.

    The true union of all contour rectangles is the bounding box of the
    foreground pixels. ``released_union=True`` replays the released loop
    instead. Returns None for an empty mask.
    """
    if released_union:
        return _released_union(mask)
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def crop_boxes(maps: torch.Tensor, threshold: float,
               released_union: bool = False) -> np.ndarray:
    """Square crop boxes ``(B, 4)`` (grid cells, xywh) from normalised ``(B, h, w)`` maps.

    Foreground = cells strictly above ``threshold * max`` (tau). No foreground
    (e.g. an all-zero map) gives the whole grid.
    """
    arr = maps.detach().double().cpu().numpy()
    grid_h, grid_w = arr.shape[-2:]
    boxes = np.empty((arr.shape[0], 4), dtype=np.int64)
    for i, m in enumerate(arr):
        box = union_box(m > threshold * m.max(), released_union) if np.isfinite(m).all() else None
        boxes[i] = (0, 0, grid_w, grid_h) if box is None else square_box(box, grid_w, grid_h)
    return boxes


def boxes_to_pixels(boxes: np.ndarray, grid_hw: Tuple[int, int],
                    input_hw: Tuple[int, int]) -> np.ndarray:
    """Grid-cell boxes to input pixels with the integer stride ``input // grid`` per axis."""
    sy, sx = input_hw[0] // grid_hw[0], input_hw[1] // grid_hw[1]
    return np.asarray(boxes, dtype=np.int64) * np.array([sx, sy, sx, sy], dtype=np.int64)


def crop_and_zoom(images: torch.Tensor, boxes_px: np.ndarray,
                  size: Tuple[int, int]) -> torch.Tensor:
    """Crop each ``(3, H, W)`` image to its pixel box and resize it bicubically to ``size``.

    The zoomed batch keeps the memory order of ``images`` (a channels-last batch gives a
    channels-last batch: the zoom pass's convolutions run in the same order as the first).
    """
    crops = []
    for img, (x, y, w, h) in zip(images, boxes_px.tolist()):
        crop = img[None, :, y:y + h, x:x + w]
        crops.append(F.interpolate(crop, size=tuple(size), mode='bicubic', align_corners=False))
    channels_last = not images.is_contiguous() and images.is_contiguous(
        memory_format=torch.channels_last)
    return torch.cat(crops, dim=0).contiguous(
        memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def paste_zoom_maps(base: torch.Tensor, zoom_raw: torch.Tensor, boxes_px: np.ndarray,
                    normalize: Callable[[torch.Tensor], torch.Tensor],
                    mode: str = 'bicubic') -> torch.Tensor:
    """Paste each zoom map into its box of a detached copy of ``base``.

    Args:
        base (Tensor): ``(B, 1, H, W)`` normalised original maps (``M_orig``).
        zoom_raw (Tensor): ``(B, 1, h, w)`` raw maps of the zoom pass.
        boxes_px (ndarray): ``(B, 4)`` pixel boxes (xywh) in the ``H x W`` frame.
        normalize (Callable): applied after resizing to the box (released order).
        mode (str): resize mode. Defaults to 'bicubic' (released).

    Returns:
        Tensor: ``M_zoom`` ``(B, 1, H, W)``, without gradient.
    """
    out = at_least_float32(base.detach()).clone()
    zoom_raw = at_least_float32(zoom_raw.detach())
    for i, (x, y, w, h) in enumerate(boxes_px.tolist()):
        out[i, :, y:y + h, x:x + w] = normalize(resize_cams(zoom_raw[i:i + 1], (h, w), mode))[0]
    return out


def cosine_consistency(m_orig: torch.Tensor, m_zoom: torch.Tensor, loss_pos: float,
                       loss_neg: float, eps: float = 1e-12) -> Tuple[torch.Tensor, ...]:
    """Consistency term ``lambda1 * L_pos - lambda2 * L_neg + 1`` and its parts.

    Cosines are batch-global (all elements of the batch flattened together, as
    released). ``L_pos = 1 - cos(M_orig, M_zoom)``, ``L_neg = 1 - cos(M_orig,
    1 - M_zoom)``. ``M_zoom`` is detached here, so gradients reach ``M_orig`` only;
    an all-zero map gives cos = 0 instead of NaN.

    Returns:
        tuple[Tensor]: ``(L_con, L_pos, L_neg)``.
    """
    a = at_least_float32(m_orig).flatten()
    b = at_least_float32(m_zoom.detach()).flatten()

    def cos(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u * v).sum() / (u.norm() * v.norm()).clamp_min(eps)

    l_pos = 1 - cos(a, b)
    l_neg = 1 - cos(a, 1 - b)
    return loss_pos * l_pos - loss_neg * l_neg + 1, l_pos, l_neg


def small_box_mask(boxes: np.ndarray, grid_hw: Tuple[int, int], ratio: float) -> np.ndarray:
    """``True`` where box area (grid cells) / grid area < ``ratio`` (nu, inference only)."""
    area = boxes[:, 2].astype(np.float64) * boxes[:, 3]
    return area / float(grid_hw[0] * grid_hw[1]) < ratio
