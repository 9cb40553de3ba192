"""Object-size bins of *Small Object Matters* (crop_consistency spec section 5.2)."""
from typing import Dict, Sequence, Tuple

import numpy as np

__all__ = ['SIZE_BINS', 'SIZE_GROUPS', 'box_size_ratios', 'mask_size_ratio', 'size_bin_index',
           'size_bin_names', 'group_bin_indices']

#: bin edges in percent of the image area; bins are [a, b), the last one closed
SIZE_BINS = (0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100)
#: this project's grouping (percent of image area): small < 4 <= medium < 36 <= large
SIZE_GROUPS = {'small': (0, 4), 'medium': (4, 36), 'large': (36, 100)}


def box_size_ratios(ori_boxes: np.ndarray, ori_shape: Tuple[int, int]) -> np.ndarray:
    """Box area / image area in percent, in original-image coordinates.

    The area is ``(x1 - x0) * (y1 - y0)`` (no +1), as the reference computes it.

    Args:
        ori_boxes (np.ndarray): ``(N, 4)`` xyxy GT boxes in original pixels.
        ori_shape (tuple): original ``(H, W)``.

    Returns:
        np.ndarray: ``(N,)`` ratios in percent.
    """
    boxes = np.asarray(ori_boxes, dtype=np.float64).reshape(-1, 4)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return 100.0 * area / (float(ori_shape[0]) * float(ori_shape[1]))


def mask_size_ratio(gt_mask: np.ndarray) -> float:
    """Foreground pixel fraction of a mask, in percent."""
    gt_mask = np.asarray(gt_mask, dtype=bool)
    return 100.0 * gt_mask.sum() / max(gt_mask.size, 1)


def size_bin_index(ratios: np.ndarray, bins: Sequence[float] = SIZE_BINS) -> np.ndarray:
    """Bin of each ratio: ``[a, b)`` bins with the last one closed; clipped into range.

    Args:
        ratios (np.ndarray): ratios in percent.
        bins (Sequence[float]): bin edges. Defaults to :data:`SIZE_BINS`.

    Returns:
        np.ndarray: int64 bin indices in ``[0, len(bins) - 2]``.
    """
    idx = np.searchsorted(np.asarray(bins, dtype=np.float64), np.asarray(ratios), side='right') - 1
    return np.clip(idx, 0, len(bins) - 2).astype(np.int64)


def size_bin_names(bins: Sequence[float] = SIZE_BINS) -> list:
    """Key suffixes ``size_<a>-<b>`` of the bins (numbers printed without trailing zeros)."""
    return [f'size_{a:g}-{b:g}' for a, b in zip(bins[:-1], bins[1:])]


def group_bin_indices(bins: Sequence[float] = SIZE_BINS,
                      groups: Dict[str, Tuple[float, float]] = None) -> Dict[str, list]:
    """Bins falling inside each group ``[lo, hi)`` (bins must align with group edges)."""
    groups = SIZE_GROUPS if groups is None else groups
    out = {}
    for name, (lo, hi) in groups.items():
        out[name] = [i for i, (a, b) in enumerate(zip(bins[:-1], bins[1:])) if a >= lo and b <= hi]
    return out
