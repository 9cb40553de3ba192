"""Straightforward per-threshold implementations that follow wsolevaluation literally.

They are slow (one OpenCV contour search per CAM threshold) and serve as the
ground truth of the fast path in tests and in ``benchmarks/eval_speed.py``.
"""
from typing import List, Sequence, Tuple

import numpy as np

from .box_ops import box_iou, quantize_cam

__all__ = ['contour_boxes', 'reference_boxes', 'reference_best_ious', 'reference_histograms']


def _find_contours(mask: np.ndarray) -> list:
    import cv2  # imported on first use: the compiled path never needs OpenCV
    out = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)
    return list(out[0] if len(out) == 2 else out[1])  # OpenCV >= 4 returns (contours, hier)


def contour_boxes(u: np.ndarray, cutoff: int, multi_contour: bool,
                  clip: bool = True, empty_box: Sequence[int] = (0, 0, 0, 0)) -> np.ndarray:
    """Boxes of the contours of ``u > cutoff`` (all of them, or the largest by contourArea).

    Args:
        u (np.ndarray): uint8 map.
        cutoff (int): integer cut-off (strict ``>``).
        multi_contour (bool): all RETR_TREE contours (V2) or the largest one (v1).
        clip (bool): clip x1/y1 to W-1/H-1 (wsolevaluation). Defaults to True.
        empty_box (Sequence[int]): box emitted when there is no contour.
            Defaults to (0, 0, 0, 0).

    Returns:
        np.ndarray: ``(K, 4)`` int64 boxes ``(x, y, x + w, y + h)``.
    """
    import cv2
    _, mask = cv2.threshold(u, cutoff, 255, cv2.THRESH_BINARY)
    contours = _find_contours(mask)
    if not contours:
        return np.asarray([empty_box], dtype=np.int64)
    if not multi_contour:
        # max() keeps the first of equal areas, as in the reference
        contours = [max(contours, key=cv2.contourArea)]
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        x1, y1 = x + w, y + h
        if clip:
            x1, y1 = min(x1, u.shape[1] - 1), min(y1, u.shape[0] - 1)
        boxes.append((x, y, x1, y1))
    return np.asarray(boxes, dtype=np.int64)


def reference_boxes(cam: np.ndarray, thresholds: Sequence[float],
                    multi_contour: bool) -> List[np.ndarray]:
    """Predicted boxes per CAM threshold exactly as wsolevaluation computes them.

    Args:
        cam (np.ndarray): float map in [0, 1] (any H, W).
        thresholds (Sequence[float]): CAM thresholds.
        multi_contour (bool): V2 (all contours) or v1 (largest contour).

    Returns:
        list[np.ndarray]: one ``(K, 4)`` box array per threshold.
    """
    u = quantize_cam(cam)
    max_u = np.max(u)
    return [contour_boxes(u, int(t * max_u), multi_contour) for t in thresholds]


def reference_best_ious(cam: np.ndarray, gt_boxes: np.ndarray, thresholds: Sequence[float],
                        multi_contour: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Best IoU over (predicted, GT) pairs per threshold, and the GT index reaching it.

    Args:
        cam (np.ndarray): float map in [0, 1].
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes in the map's frame.
        thresholds (Sequence[float]): CAM thresholds.
        multi_contour (bool): V2 or v1.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(T,)`` float64 IoUs and ``(T,)`` GT
        indices (the lowest index among GT boxes reaching the best IoU).
    """
    ious, gts = [], []
    for boxes in reference_boxes(cam, thresholds, multi_contour):
        per_gt = box_iou(boxes, gt_boxes).max(axis=0)
        ious.append(per_gt.max())
        gts.append(int(np.argmax(per_gt)))
    return np.asarray(ious), np.asarray(gts, dtype=np.int64)


def reference_histograms(cam: np.ndarray, gt_mask: np.ndarray, ignore_mask: np.ndarray,
                         thresholds: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """Foreground / background score histograms as wsolevaluation's MaskEvaluator.

    Args:
        cam (np.ndarray): float map.
        gt_mask (np.ndarray): bool foreground mask.
        ignore_mask (np.ndarray): bool ignore mask (pixels in ``gt_mask`` are kept).
        thresholds (Sequence[float]): CAM thresholds (bins = thresholds + [1, 2, 3]).

    Returns:
        tuple[np.ndarray, np.ndarray]: float64 fg and bg histograms (K + 2 bins).
    """
    bins = list(thresholds) + [1.0, 2.0, 3.0]
    gt = np.where(np.asarray(gt_mask, bool), 1, 0)
    gt[np.asarray(ignore_mask, bool) & (gt == 0)] = 255
    fg = np.histogram(cam[gt == 1], bins=bins)[0].astype(np.float64)
    bg = np.histogram(cam[gt == 0], bins=bins)[0].astype(np.float64)
    return fg, bg
