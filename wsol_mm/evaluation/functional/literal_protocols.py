"""The released evaluation loops, written literally: one OpenCV contour search per threshold.

They follow the per-image code of the released evaluators step by step (validity
check, uint8 truncation, ``cv2.threshold`` + ``cv2.findContours`` per threshold,
boundingRect of the kept contours, IoU against the GT boxes, per-threshold
counters), without any of wsol_mm's shortcuts, and are the honest other side of
``benchmarks/eval_speed.py``: each returns the same counts as a wsol_mm scorer.

* :func:`literal_box_counts` - wsolevaluation ``BoxEvaluator`` (MaxBoxAcc v1 / V2);
* :func:`literal_mask_histograms` - wsolevaluation ``MaskEvaluator`` (PxAP);
* :func:`literal_fixed_counts` - TS-CAM ``cls_loc_err`` (protocol ``fixed``);
* :func:`literal_sweep_counts` - SCM / LCA-MD ``test_cam.py`` (protocol ``sweep``).
"""
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['literal_box_counts', 'literal_mask_histograms', 'literal_fixed_counts',
           'literal_sweep_counts']

_CONTOUR_INDEX = 1 if cv2.__version__.split('.')[0] == '3' else 0


def _check_scoremap(scoremap: np.ndarray) -> None:
    # the released check: float64, 2-D, no NaN, values in [0, 1]
    if scoremap.dtype != np.float64 or scoremap.ndim != 2:
        raise TypeError('score maps are 2-D float64 arrays')
    if np.isnan(scoremap).any() or (scoremap > 1).any() or (scoremap < 0).any():
        raise ValueError('score maps are in [0, 1] without NaN')


def _ious(boxes: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """All-pairs IoU with the +1 pixel convention, broadcast (the ``fixed`` / ``sweep`` loops)."""
    a, b = boxes[:, None, :].astype(np.float64), gts[None, :, :].astype(np.float64)
    iw = np.maximum(0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1)
    ih = np.maximum(0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1)
    inter = iw * ih
    union = ((a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
             + (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1) - inter)
    degenerate = union <= 0
    ious = inter / np.where(degenerate, 1, union)
    ious[degenerate] = 0
    return ious


def _check_box_array(boxes: np.ndarray) -> None:
    # the released check_box_convention ('x0y0x1y1'), run on both IoU operands; not
    # box_ops': this file imports only numpy and OpenCV (eval_reference_process.py)
    if (boxes < 0).any():
        raise RuntimeError('box coordinates are non-negative')
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise RuntimeError('boxes are (N, 4) arrays')
    if ((boxes[:, 2] - boxes[:, 0]) < 0).any() or ((boxes[:, 3] - boxes[:, 1]) < 0).any():
        raise RuntimeError('boxes follow the x0y0x1y1 convention')


def _tiled_ious(boxes: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """All-pairs IoU the way the released ``calculate_multiple_iou`` computes it.

    Both operands are checked, then tiled into integer ``(num_boxes, num_gts, 4)``
    arrays (no broadcasting); +1 pixel convention, degenerate unions give 0.
    """
    _check_box_array(boxes)
    _check_box_array(gts)
    n, m = boxes.shape[0], gts.shape[0]
    a = np.expand_dims(np.tile(boxes, m), 1).reshape((n, m, -1))
    b = np.transpose(np.expand_dims(np.tile(gts, n), 1).reshape((m, n, -1)), (1, 0, 2))
    inter = (np.maximum(0, np.minimum(a[:, :, 2], b[:, :, 2])
                        - np.maximum(a[:, :, 0], b[:, :, 0]) + 1)
             * np.maximum(0, np.minimum(a[:, :, 3], b[:, :, 3])
                          - np.maximum(a[:, :, 1], b[:, :, 1]) + 1))
    union = ((a[:, :, 2] - a[:, :, 0] + 1) * (a[:, :, 3] - a[:, :, 1] + 1)
             + (b[:, :, 2] - b[:, :, 0] + 1) * (b[:, :, 3] - b[:, :, 1] + 1) - inter)
    degenerate = np.where(union <= 0)
    union[degenerate] = 1
    ious = inter / union
    ious[degenerate] = 0
    return ious


def _boxes_at(image: np.ndarray, cutoff: int, multi_contour: bool, clip: bool = True,
              mode: int = cv2.THRESH_BINARY, empty=(0, 0, 0, 0)) -> List[List[int]]:
    _, mask = cv2.threshold(image, cutoff, 255, mode)
    contours = cv2.findContours(mask, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[_CONTOUR_INDEX]
    if len(contours) == 0:
        return [list(empty)]
    if not multi_contour:
        contours = [max(contours, key=cv2.contourArea)]
    height, width = image.shape
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        x0, y0, x1, y1 = x, y, x + w, y + h
        if clip:
            x1, y1 = min(x1, width - 1), min(y1, height - 1)
        boxes.append([x0, y0, x1, y1])
    return boxes


def literal_box_counts(items: Sequence[Tuple[np.ndarray, np.ndarray]],
                       thresholds: Sequence[float], iou_thrs: Sequence[float],
                       multi_contour: bool) -> np.ndarray:
    """wsolevaluation's BoxEvaluator ``accumulate`` over ``(scoremap, gt_boxes)`` items.

    Returns:
        np.ndarray: ``(len(iou_thrs), T)`` correct counts per CAM threshold.
    """
    num_correct = {thr: np.zeros(len(thresholds)) for thr in iou_thrs}
    for scoremap, gt_boxes in items:
        scoremap = np.asarray(scoremap).astype(np.float64)  # the released t2n cast
        _check_scoremap(scoremap)
        image = np.expand_dims((scoremap * 255).astype(np.uint8), 2)[..., 0]
        boxes_at, number_of_boxes = [], []
        for threshold in thresholds:
            boxes = _boxes_at(image, int(threshold * np.max(image)), multi_contour)
            boxes_at.append(np.asarray(boxes))
            number_of_boxes.append(len(boxes))
        multiple_iou = _tiled_ious(np.concatenate(boxes_at, axis=0), np.asarray(gt_boxes))
        sliced, idx = [], 0
        for nr_box in number_of_boxes:
            # as released: the row maxima of the whole matrix again for every threshold
            # (quadratic in the number of thresholds; part of the cost being compared)
            sliced.append(max(multiple_iou.max(1)[idx:idx + nr_box]))
            idx += nr_box
        for thr in iou_thrs:
            correct = np.where(np.asarray(sliced) >= thr / 100)[0]
            num_correct[thr][correct] += 1
    return np.stack([num_correct[thr] for thr in iou_thrs]).astype(np.int64)


def literal_mask_histograms(items: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray]],
                            thresholds: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
    """wsolevaluation's MaskEvaluator ``accumulate`` over ``(scoremap, gt, ignore)`` items.

    Returns:
        tuple: pooled foreground and background histograms (float64, as released).
    """
    edges = np.append(thresholds, [1.0, 2.0, 3.0])
    fg_hist = np.zeros(len(thresholds) + 2, dtype=np.float64)
    bg_hist = np.zeros(len(thresholds) + 2, dtype=np.float64)
    for scoremap, gt, ignore in items:
        scoremap = np.asarray(scoremap).astype(np.float64)
        _check_scoremap(scoremap)
        gt_mask = gt.astype(np.uint8) + 255 * (ignore & ~gt).astype(np.uint8)
        fg_hist += np.histogram(scoremap[gt_mask == 1], bins=edges)[0].astype(np.float64)
        bg_hist += np.histogram(scoremap[gt_mask == 0], bins=edges)[0].astype(np.float64)
    return fg_hist, bg_hist


def literal_fixed_counts(items: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray, int]],
                         cam_thr: float, iou_thr: float = 50) -> Dict[str, int]:
    """TS-CAM's per-image loop over ``(gt-class map, gt_boxes, class scores, label)`` items.

    Top-5 classes by score; largest contour of ``u > int(cam_thr * max(u))``
    (THRESH_TOZERO), unclipped box, ``[0, 0, 1, 1]`` when empty; top-1/top-5 need
    IoU > 0.5, GT-known IoU >= 0.5.
    """
    counts = dict(top1=0, top5=0, gt_known=0)
    for cam, gt_boxes, scores, label in items:
        top5 = list(np.argsort(-np.asarray(scores, np.float64), kind='stable')[:5])
        rank = top5.index(label) if label in top5 else 5
        image = (np.asarray(cam, np.float64) * 255).astype(np.uint8)
        box = _boxes_at(image, int(cam_thr * np.max(image)), False, clip=False,
                        mode=cv2.THRESH_TOZERO, empty=(0, 0, 1, 1))
        iou = _ious(np.asarray(box), np.asarray(gt_boxes)).max()
        counts['top1'] += int(rank < 1 and iou > iou_thr / 100)
        counts['top5'] += int(rank < 5 and iou > iou_thr / 100)
        counts['gt_known'] += int(iou >= iou_thr / 100)
    return counts


def literal_sweep_counts(items: Sequence[Tuple[np.ndarray, np.ndarray, np.ndarray, int]],
                         thresholds: Sequence[float], iou_thr: float = 50) -> np.ndarray:
    """SCM's ``test_cam.py`` loop over ``(top-K maps, top-K labels, gt_boxes, label)`` items.

    Returns:
        np.ndarray: ``(4, T)`` counts of gt_known (top-1 map), top1_loc, top5_loc and
        gt_known_top5 per threshold (cut at ``int(theta * 255)``, clipped boxes).
    """
    counts = np.zeros((4, len(thresholds)), np.int64)
    for cams, labels, gt_boxes, label in items:
        hit = np.zeros((len(cams), len(thresholds)), bool)
        for k, cam in enumerate(cams):
            image = (np.asarray(cam, np.float64) * 255).astype(np.uint8)
            for j, theta in enumerate(thresholds):
                box = _boxes_at(image, int(theta * 255), False)
                hit[k, j] = _ious(np.asarray(box), np.asarray(gt_boxes)).max() >= iou_thr / 100
        right = np.asarray(labels) == label
        counts[0] += hit[0]
        counts[1] += hit[0] & right[0]
        counts[2] += (hit & right[:, None]).any(0)
        counts[3] += hit.any(0)
    return counts
