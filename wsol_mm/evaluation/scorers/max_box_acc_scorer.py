"""MaxBoxAcc (v1, CVPR 2020) of wsolevaluation, torch-free."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import (
    SIZE_BINS,
    box_correct_counts,
    box_record,
    box_size_ratios,
    maxboxacc,
    size_bin_counts,
    size_bin_index,
    threshold_list,
)
from .base_scorer import BaseScorer
from .sample_fields import get_field
from .size_bins_mixin import SizeBinsMixin


class MaxBoxAccScorer(SizeBinsMixin, BaseScorer):
    """MaxBoxAcc, protocol ``wsolevaluation`` (v1: largest contour, IoU 50).

    GT-class score maps (``pred_cam``) are quantised to uint8 by truncation, cut
    at every CAM threshold of ``np.arange(0, 1, cam_curve_interval)`` (strict
    ``>`` on ``int(tau * max)``), turned into boxes from OpenCV RETR_TREE
    contours (v1: the largest by ``cv2.contourArea``), and scored with the
    inclusive IoU against the best-matching GT box. Each IoU threshold gets its
    own best CAM threshold on the evaluated split. Results are identical to
    wsolevaluation's ``BoxEvaluator``; see ``docs/evaluation.md``.

    With ``size_bins=True`` an image falls, at each CAM threshold, into the bin
    of the GT box with the best IoU there; each bin is read at the split's best
    CAM threshold of each IoU threshold and its score averages the IoU thresholds.

    Args:
        iou_thrs (Sequence[float]): IoU thresholds in percent. Defaults to (50,).
        cam_curve_interval (float): CAM threshold step. Defaults to 0.001.
        multi_contour (bool): boxes of all contours (V2). Defaults to False.
        size_bins (bool): add size-binned keys (needs ``ori_gt_bboxes`` and
            ``ori_shape``). Defaults to False.
        size_bin_edges (Sequence[float]): bin edges in percent of the image
            area. Defaults to (0, 1, 4, ..., 81, 100).
        size_groups (dict, optional): ``name -> (lo, hi)`` percent ranges of
            the grouped keys. Defaults to small [0, 4), medium [4, 36), large [36, 100].
        size_bin_rule (str): when a bin counts as empty (score 0, count 0, left
            out of ``size_mean``): ``'chosen'`` (no image at the chosen CAM
            threshold) or ``'released'`` (Small Object Matters' ``evaluation.py``:
            no image at ANY CAM threshold). Defaults to 'chosen'.
    """
    default_prefix: Optional[str] = 'maxboxacc'
    metric_type = 'MaxBoxAccMetric'
    protocol = 'wsolevaluation'

    def __init__(self, iou_thrs: Sequence[float] = (50, ), cam_curve_interval: float = 0.001,
                 multi_contour: bool = False, size_bins: bool = False,
                 size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 size_bin_rule: str = 'chosen') -> None:
        super().__init__()
        self.iou_thrs = tuple(iou_thrs)
        if len(self.iou_thrs) > 8:
            raise ValueError('At most 8 IoU thresholds are supported (one bit each)')
        self.cam_curve_interval = cam_curve_interval
        self.thresholds = threshold_list(cam_curve_interval)
        self.multi_contour = multi_contour
        self._init_size_bins(size_bins, size_bin_edges, size_groups, size_bin_rule)

    def record(self, sample: dict) -> dict:
        """One small record of one image (see :func:`box_record`)."""
        name = type(self).__name__
        cam = get_field(sample, 'pred_cam', name)
        boxes = get_field(sample, 'gt_bboxes', name)
        box_bins = None
        if self.size_bins:
            ori = get_field(sample, 'ori_gt_bboxes', name)
            ratios = box_size_ratios(ori, get_field(sample, 'ori_shape', name))
            if len(ratios) != len(np.asarray(boxes).reshape(-1, 4)):
                raise ValueError(f'{name}: ori_gt_bboxes and gt_bboxes differ in length')
            box_bins = size_bin_index(ratios, self.size_bin_edges)
        return box_record(cam, boxes, self.multi_contour, self.iou_thrs, box_bins,
                          thresholds=self.thresholds)

    def _accuracy(self, results: List[dict]) -> Dict[str, np.ndarray]:
        counts = box_correct_counts(results, self.thresholds, len(self.iou_thrs))
        return maxboxacc(counts, len(results))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """MaxBoxAcc per IoU threshold, their mean, best thresholds (and size bins)."""
        acc = self._accuracy(results)
        metrics = {}
        for i, thr in enumerate(self.iou_thrs):
            metrics[f'iou{thr:g}'] = float(acc['max'][i])
        metrics['mean'] = float(np.mean(acc['max']))
        for i, thr in enumerate(self.iou_thrs):
            metrics[f'best_thr_iou{thr:g}'] = float(self.thresholds[acc['best_idx'][i]])
        if self.size_bins:
            metrics.update(self._size_metrics(results, acc['best_idx']))
        return metrics

    def curves(self, results: List[dict]) -> Dict[str, Any]:
        """BoxAcc (percent) per CAM threshold for each IoU threshold."""
        acc = self._accuracy(results)
        return {f'iou{thr:g}': acc['curves'][i].tolist() for i, thr in enumerate(self.iou_thrs)}

    def _size_metrics(self, results: List[dict], best_idx: np.ndarray) -> Dict[str, float]:
        # the CAM threshold is chosen once on the whole split per IoU threshold
        # and every bin is read there; bin scores average the IoU thresholds
        stats = size_bin_counts(results, self.thresholds, len(self.iou_thrs),
                                len(self.size_bin_edges) - 1)
        return self._threshold_bin_report(stats['count'], stats['correct'], best_idx)
