"""Pure pieces of the Small Object Matters crop consistency (each unit-tested).

Conventions: maps are float32 ``(..., h, w)``; boxes are integer ``(x, y, w, h)``
(top-left corner, width, height), in CAM-grid cells or input pixels as named.

Normalisation comes in two flavours, as in the released code:

* ``normalize_train`` - the one used inside the two-pass computation (crop box,
  ``M_orig``, pasted zoom map); differentiable.
* ``normalize_eval`` - the one applied to every final score map.

Both are NaN-safe: a map that is not finite, constant, or whose divisor is not
positive becomes all zeros (as the released ``normalize_scoremap``; the released
training side divided by zero there and produced inf/NaN, after which its trainer
skipped the step).
"""
from typing import Callable, Optional, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..utils import normalize_cams, resize_cams
from ..utils.precision import at_least_float32

NORM_MODES = ('minmax', 'max', 'pas', 'ivr')
_PAS_QUANTILE = 0.9


def _check_mode(mode: str) -> None:
    if mode not in NORM_MODES:
        raise ValueError(f'norm_method must be one of {NORM_MODES}, got {mode!r}')


def _safe_div(num: torch.Tensor, den: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """``num / den`` where ``ok``, else 0 (the unused branch never sees a 0 divisor)."""
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


def normalize_train(maps: torch.Tensor, mode: str = 'minmax',
                    percentile: float = 0.6) -> torch.Tensor:
    """Per-map normalisation used by the two-pass computation (released ``normalize_tensor``).

    Args:
        maps (Tensor): ``(..., h, w)`` maps.
        mode (str): ``'minmax'`` ((x - min) / (max - min)); ``'max'`` (relu(x) / max);
            ``'pas'`` ((x - min) / q90(x), clipped at 1); ``'ivr'``
            (relu(x - q_p(x)) / max(x), peak (max - q) / max). Quantiles use
            ``torch.quantile(..., interpolation='nearest')`` of the raw map.
        percentile (float): ``p`` of ``'ivr'``.

    Returns:
        Tensor: float32 maps of the same shape; invalid maps are zeros.
    """
    _check_mode(mode)
    if mode == 'minmax':
        return normalize_cams(maps)
    flat = at_least_float32(maps).flatten(-2)
    finite = torch.isfinite(flat).all(-1, keepdim=True)
    flat = torch.where(finite, flat, torch.zeros_like(flat))
    low, high = flat.amin(-1, keepdim=True), flat.amax(-1, keepdim=True)
    valid = finite & (high > low)  # constant maps -> zeros, in every mode
    if mode == 'max':
        out = _safe_div(flat.clamp_min(0), high, valid & (high > 0))
    elif mode == 'pas':
        q = torch.quantile(flat, _PAS_QUANTILE, dim=-1, keepdim=True, interpolation='nearest')
        out = _safe_div(flat - low, q, valid & (q > 0)).clamp_max(1.0)
    else:
        q = torch.quantile(flat, percentile, dim=-1, keepdim=True, interpolation='nearest')
        out = _safe_div((flat - q).clamp_min(0), high, valid & (high > 0))
    return out.view(maps.shape)


def normalize_eval(maps: torch.Tensor, mode: str = 'minmax',
                   percentile: float = 0.6) -> torch.Tensor:
    """Final score-map normalisation (released ``normalize_scoremap``), peak 1.

    ``pas``/``ivr`` read the value at sorted index ``floor(q * N)`` (``q`` = 0.9
    of the min-shifted map / ``percentile`` of the map); non-finite or constant
    maps give zeros.
    """
    _check_mode(mode)
    if mode == 'minmax':
        return normalize_cams(maps)
    flat = at_least_float32(maps).flatten(-2)
    n = flat.shape[-1]
    finite = torch.isfinite(flat).all(-1, keepdim=True)
    flat = torch.where(finite, flat, torch.zeros_like(flat))
    low, high = flat.amin(-1, keepdim=True), flat.amax(-1, keepdim=True)
    valid = finite & (high > low)
    if mode == 'max':
        flat = flat.clamp_min(0)
        den = flat.amax(-1, keepdim=True)
    elif mode == 'pas':
        flat = flat - low
        den = flat.sort(-1).values[..., min(int(n * _PAS_QUANTILE), n - 1)].unsqueeze(-1)
        return _safe_div(flat, den, valid & (den > 0)).clamp_max(1.0).view(maps.shape)
    else:
        q = flat.sort(-1).values[..., min(int(n * percentile), n - 1)].unsqueeze(-1)
        flat = (flat - q).clamp_min(0)
        den = flat.amax(-1, keepdim=True)
    return _safe_div(flat, den, valid & (den > 0)).view(maps.shape)


def logits_and_maps(head: torch.nn.Module, feats: Tuple[torch.Tensor, ...],
                    labels: torch.Tensor, class_agnostic: bool = False
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(B, C)`` and each image's raw ``(B, 1, h, w)`` map from ONE head pass, float32.

    One pass matters for heads with dropout (the Inception class-map head): the
    released model returned logits and maps of the same forward.

    Args:
        head (nn.Module): a head with ``get_logits_and_cams(feats, classes (B, K))``.
        feats (tuple[Tensor]): backbone features (cast to float32 here).
        labels (Tensor): ``(B,)`` class indices.
        class_agnostic (bool): "CAAM": the mean of the maps the CAM is made of -
            for a head that exposes ``class_maps`` (its CAMs are its own output
            maps, e.g. Inception) the mean of all class maps, otherwise the
            channel mean of ``feats[-1]``. Defaults to False.
    """
    feats = tuple(at_least_float32(f) for f in feats)
    if not class_agnostic:
        logits, maps = head.get_logits_and_cams(feats, labels.view(-1, 1))
    elif hasattr(head, 'class_maps'):
        every = torch.arange(head.num_classes, device=labels.device)
        logits, maps = head.get_logits_and_cams(feats, every.expand(labels.numel(), -1))
        maps = maps.mean(1, keepdim=True)
    else:
        logits, maps = head(feats), feats[-1].mean(1, keepdim=True)
    return at_least_float32(logits), at_least_float32(maps)


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
    """Crop each ``(3, H, W)`` image to its pixel box and resize it bicubically to ``size``."""
    crops = []
    for img, (x, y, w, h) in zip(images, boxes_px.tolist()):
        crop = img[None, :, y:y + h, x:x + w]
        crops.append(F.interpolate(crop, size=tuple(size), mode='bicubic', align_corners=False))
    return torch.cat(crops, dim=0)


def paste_zoom_maps(base: torch.Tensor, zoom_raw: torch.Tensor, boxes_px: np.ndarray,
                    normalize: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Paste each zoom map into its box of a detached copy of ``base``.

    Args:
        base (Tensor): ``(B, 1, H, W)`` normalised original maps (``M_orig``).
        zoom_raw (Tensor): ``(B, 1, h, w)`` raw maps of the zoom pass.
        boxes_px (ndarray): ``(B, 4)`` pixel boxes (xywh) in the ``H x W`` frame.
        normalize (Callable): applied after resizing to the box (released order).

    Returns:
        Tensor: ``M_zoom`` ``(B, 1, H, W)``, without gradient.
    """
    out = at_least_float32(base.detach()).clone()
    zoom_raw = at_least_float32(zoom_raw.detach())
    for i, (x, y, w, h) in enumerate(boxes_px.tolist()):
        out[i, :, y:y + h, x:x + w] = normalize(resize_cams(zoom_raw[i:i + 1], (h, w)))[0]
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
