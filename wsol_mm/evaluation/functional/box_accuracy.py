"""Per-image box records and split-level MaxBoxAcc / size-bin accuracy.

A record holds, per integer cut-off, a bitmask of the IoU thresholds met and
the size bin of the GT box giving the best IoU; thresholds are mapped to
cut-offs only at the end, so records are small (2 x 256 bytes) and exact.
"""
import functools
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .cutoff_scan import NUM_CUTOFFS, scan_thresholds, threshold_cutoffs

__all__ = ['box_record', 'box_correct_counts', 'maxboxacc', 'binned_counts', 'size_bin_counts']


def box_record(cam: np.ndarray, gt_boxes: np.ndarray, multi_contour: bool,
               iou_thrs: Sequence[float], box_bins: Optional[np.ndarray] = None,
               use_numba: bool = True, thresholds: Optional[Sequence[float]] = None) -> dict:
    """Summarise one image for box metrics.

    Args:
        cam (np.ndarray): float map in [0, 1] (the GT-class map).
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes in the map's frame.
        multi_contour (bool): V2 (all contours) or v1 (largest contour).
        iou_thrs (Sequence[float]): IoU thresholds in percent.
        box_bins (np.ndarray, optional): size bin of each GT box.
        use_numba (bool): use the compiled scan if available. Defaults to True.
        thresholds (Sequence[float], optional): the CAM thresholds that will be
            read; only their cut-offs are scored (the others stay 0). Defaults to all.

    Returns:
        dict: ``max_u`` (int), ``correct`` (uint8 ``(256,)`` bitmask, bit i =
        IoU >= iou_thrs[i] / 100) and, with ``box_bins``, ``bin`` (int8 ``(256,)``).
    """
    sorted_floors, bits = _floor_bits(tuple(iou_thrs))
    # only the bits are kept: IoUs need to be exact only around the IoU thresholds,
    # unless the best GT box decides a size bin (several boxes in different bins)
    exact = box_bins is not None and len(np.unique(box_bins)) > 1
    ious, gt_idx, max_u = scan_thresholds(cam, gt_boxes, multi_contour, thresholds=thresholds,
                                          use_numba=use_numba,
                                          iou_floors=None if exact else sorted_floors)
    # bit i: ious >= iou_thrs[i] / 100; the number of floors at or below each IoU indexes
    # their bits (two numpy calls instead of three per floor: 6 us a map)
    correct = bits[sorted_floors.searchsorted(ious, side='right')]
    record = dict(max_u=max_u, correct=correct)
    if box_bins is not None:
        bins = np.asarray(box_bins, np.int8)
        record['bin'] = bins[gt_idx] if exact else np.full(NUM_CUTOFFS, bins[0], np.int8)
    return record


@functools.lru_cache(maxsize=64)
def _floor_bits(iou_thrs: Tuple[float, ...]) -> Tuple[np.ndarray, np.ndarray]:
    """The IoU floors ``iou_thrs / 100`` sorted, and per number of them reached the uint8
    bitmask of those floors, bit i for ``iou_thrs[i]`` (read-only arrays)."""
    floors = np.asarray(iou_thrs, np.float64) / 100
    order = np.argsort(floors, kind='stable')
    bits = np.zeros(len(floors) + 1, np.uint8)
    for k, i in enumerate(order):
        bits[k + 1] = bits[k] | (1 << int(i))
    sorted_floors = floors[order]
    sorted_floors.flags.writeable = bits.flags.writeable = False
    return sorted_floors, bits


def _per_threshold(records: List[dict], key: str, thresholds: np.ndarray) -> np.ndarray:
    """Stack ``record[key]`` read at each threshold's cut-off: ``(num_images, T)``."""
    cutoffs = {}  # per max(u): most maps share one (255 for normalised maps)
    rows = []
    for r in records:
        cut = cutoffs.get(r['max_u'])
        if cut is None:
            cut = cutoffs[r['max_u']] = threshold_cutoffs(thresholds, r['max_u'])
        rows.append(r[key][cut])
    return np.stack(rows)


def box_correct_counts(records: List[dict], thresholds: np.ndarray, num_iou: int) -> np.ndarray:
    """Number of correct images per (IoU threshold, CAM threshold): ``(num_iou, T)``."""
    if not records:
        return np.zeros((num_iou, len(thresholds)), np.int64)
    correct = _per_threshold(records, 'correct', thresholds)
    return np.stack([((correct >> i) & 1).sum(0) for i in range(num_iou)]).astype(np.int64)


def maxboxacc(counts: np.ndarray, num_images: int) -> Dict[str, np.ndarray]:
    """BoxAcc curves, MaxBoxAcc and best threshold index per IoU threshold.

    Args:
        counts (np.ndarray): ``(num_iou, T)`` correct counts.
        num_images (int): number of images.

    Returns:
        dict: ``curves`` (percent, ``(num_iou, T)``), ``max`` (``(num_iou,)``),
        ``best_idx`` (first argmax per IoU threshold).
    """
    curves = 100.0 * counts / max(num_images, 1)
    return dict(curves=curves, max=curves.max(1), best_idx=curves.argmax(1))


def binned_counts(bins: np.ndarray, hits: np.ndarray,
                  num_bins: int) -> Tuple[np.ndarray, np.ndarray]:
    """Images and hits per (bin, threshold) cell.

    Args:
        bins (np.ndarray): ``(N, T)`` bin of each image at each threshold.
        hits (np.ndarray): ``(I, N, T)`` 0/1 hit flags (one plane per IoU threshold or key).
        num_bins (int): number of bins.

    Returns:
        tuple: ``count`` ``(num_bins, T)`` and ``correct`` ``(I, num_bins, T)`` (int64).
    """
    bins = np.asarray(bins, np.int64)
    t = bins.shape[1] if bins.ndim == 2 else 0
    cells = num_bins * t
    count = np.zeros((num_bins, t), np.int64)
    correct = np.zeros((len(hits), num_bins, t), np.int64)
    if bins.size == 0:
        return count, correct
    cell = (bins * t + np.arange(t)).ravel()  # one bincount over (bin, threshold) cells
    count[:] = np.bincount(cell, minlength=cells)[:cells].reshape(num_bins, t)
    for i, plane in enumerate(hits):
        correct[i] = np.bincount(cell, weights=np.asarray(plane).ravel(),
                                 minlength=cells)[:cells].reshape(num_bins, t)
    return count, correct


def size_bin_counts(records: List[dict], thresholds: np.ndarray, num_iou: int,
                    num_bins: int) -> Dict[str, np.ndarray]:
    """Images and correct images per size bin at every CAM threshold (box records).

    Args:
        records (list[dict]): records with a ``bin`` entry.
        thresholds (np.ndarray): CAM thresholds.
        num_iou (int): number of IoU thresholds.
        num_bins (int): number of size bins.

    Returns:
        dict: ``count`` ``(num_bins, T)`` and ``correct`` ``(num_iou, num_bins, T)``.
    """
    if not records:
        t = len(thresholds)
        return dict(count=np.zeros((num_bins, t), np.int64),
                    correct=np.zeros((num_iou, num_bins, t), np.int64))
    bins = _per_threshold(records, 'bin', thresholds)
    ok = _per_threshold(records, 'correct', thresholds)
    count, correct = binned_counts(bins, [(ok >> i) & 1 for i in range(num_iou)], num_bins)
    return dict(count=count, correct=correct)
