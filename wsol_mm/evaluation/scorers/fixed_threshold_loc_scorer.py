"""Top-1 / Top-5 / GT-known localization at one fixed CAM threshold (TS-CAM), torch-free."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import (
    SIZE_BINS,
    binned_counts,
    box_iou,
    box_size_ratios,
    check_box_convention,
    contour_boxes,
    quantize_cam,
    scan_thresholds,
    size_bin_index,
    threshold_cutoffs,
    threshold_list,
)
from .base_scorer import BaseScorer
from .sample_fields import as_label, get_field
from .size_bins_mixin import SizeBinsMixin

_TSCAM_EMPTY_BOX = (0, 0, 1, 1)


class FixedThresholdLocScorer(SizeBinsMixin, BaseScorer):
    """Legacy localization accuracy, protocol ``fixed`` (TS-CAM ``cls_loc_err``).

    One CAM threshold for every image: the GT-class map (``pred_cam``) is
    quantised ``floor(255 s)``, cut at ``> int(cam_thr * max)``, and the box of
    the largest contour (``cv2.contourArea``) is ``(x, y, x + w, y + h)``
    without clipping; an empty mask gives TS-CAM's ``[0, 0, 1, 1]``. IoU uses the
    +1 convention and the best GT box. ``gt_known``: IoU >= 0.5;
    ``top1``: top-1 class correct and IoU > 0.5 (strict, as TS-CAM codes it);
    ``top5``: GT among the top-5 classes and IoU > 0.5 (the map of a correct
    class is the GT-class map, so ``pred_cam`` serves all three).

    With ``size_bins=True``, ``size_<a>-<b>`` is the GT-known accuracy of the
    images whose best-matching GT box falls in that bin. ``curve_interval``
    also records the three accuracies at every threshold of
    ``np.arange(0, 1, curve_interval)`` for plots (the metric values do not change).

    Args:
        cam_thr (float): the CAM threshold (TS-CAM: 0.1 CUB, 0.12 ILSVRC). Defaults to 0.1.
        iou_thr (float): IoU threshold in percent. Defaults to 50.
        size_bins (bool): add GT-known per size bin. Defaults to False.
        size_bin_edges (Sequence[float]): bin edges (percent). Defaults to SIZE_BINS.
        size_groups (dict, optional): grouped keys' percent ranges.
        size_bin_rule (str): accepted for symmetry (one threshold: both rules agree).
        curve_interval (float, optional): record curves over thresholds. Defaults to None.
    """
    default_prefix: Optional[str] = 'loc'
    metric_type = 'FixedThresholdLocMetric'
    protocol = 'fixed'

    def __init__(self, cam_thr: float = 0.1, iou_thr: float = 50, size_bins: bool = False,
                 size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 size_bin_rule: str = 'chosen', curve_interval: Optional[float] = None) -> None:
        super().__init__()
        self.cam_thr = cam_thr
        self.iou_thr = iou_thr
        self.curve_interval = curve_interval
        self._init_size_bins(size_bins, size_bin_edges, size_groups, size_bin_rule)

    @property
    def threaded(self) -> bool:
        """Threads only with ``curve_interval`` (a union-find scan per image, 0.4 ms).

        Otherwise a record is one OpenCV contour search with Python around it (0.13 ms):
        each OpenCV or numba call hands the GIL to the other thread and back, and on the
        2-vCPU development machine two threads took 0.19-0.24 ms per map
        (``benchmarks/eval_speed.py``'s fixed row).
        """
        return bool(self.curve_interval)

    def record(self, sample: dict) -> dict:
        """The IoU of the fixed-threshold box and the GT class rank of one image."""
        name = type(self).__name__
        cam = get_field(sample, 'pred_cam', name)
        u = quantize_cam(cam)
        gts = check_box_convention(get_field(sample, 'gt_bboxes', name))
        box = contour_boxes(u, int(self.cam_thr * u.max()), multi_contour=False,
                            clip=False, empty_box=_TSCAM_EMPTY_BOX)
        per_gt = box_iou(box, gts, check=False).max(0)
        score = np.asarray(get_field(sample, 'pred_score', name), np.float64)
        label = as_label(get_field(sample, 'gt_label', name))
        rank = int(np.nonzero(np.argsort(-score, kind='stable') == label)[0][0])
        record = dict(iou=float(per_gt.max()), rank=rank)
        if self.size_bins:
            ratios = box_size_ratios(get_field(sample, 'ori_gt_bboxes', name),
                                     get_field(sample, 'ori_shape', name))
            record['bin'] = int(size_bin_index(ratios, self.size_bin_edges)[np.argmax(per_gt)])
        if self.curve_interval:
            taus = threshold_list(self.curve_interval)
            ious, _, max_u = scan_thresholds(cam, gts, False, thresholds=taus, clip=False,
                                             empty_box=_TSCAM_EMPTY_BOX)
            cut = threshold_cutoffs(taus, max_u)
            thr = self.iou_thr / 100
            record['curve'] = ((ious[cut] >= thr).astype(np.uint8)
                               | (ious[cut] > thr).astype(np.uint8) << 1)
        return record

    def _flags(self, results: List[dict], iou: np.ndarray) -> Dict[str, np.ndarray]:
        """GT-known (inclusive) and strict top-1 / top-5 flags from IoU bits."""
        rank = np.array([r['rank'] for r in results]).reshape(-1, *([1] * (iou.ndim - 1)))
        inclusive, strict = (iou & 1).astype(bool), (iou & 2).astype(bool)
        return dict(top1=(rank < 1) & strict, top5=(rank < 5) & strict, gt_known=inclusive)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Top-1 / Top-5 Loc (strict IoU) and GT-known Loc (inclusive IoU)."""
        thr = self.iou_thr / 100
        iou = np.array([r['iou'] for r in results])
        bits = (iou >= thr).astype(np.uint8) | (iou > thr).astype(np.uint8) << 1
        flags = self._flags(results, bits)
        metrics = {k: float(100.0 * v.mean()) if len(v) else 0.0 for k, v in flags.items()}
        if self.size_bins:
            bins = np.array([r['bin'] for r in results], np.int64).reshape(-1, 1)
            count, correct = binned_counts(bins, flags['gt_known'].reshape(1, -1, 1),
                                           len(self.size_bin_edges) - 1)
            metrics.update(self._threshold_bin_report(count, correct, [0]))
        return metrics

    def curves(self, results: List[dict]) -> Dict[str, Any]:
        """The three accuracies per CAM threshold (needs ``curve_interval``)."""
        if not self.curve_interval or not results:
            return {}
        flags = self._flags(results, np.stack([r['curve'] for r in results]))
        return {k: (100.0 * v.mean(0)).tolist() for k, v in flags.items()}
