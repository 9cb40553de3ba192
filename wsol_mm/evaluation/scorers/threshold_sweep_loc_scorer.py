"""Oracle CAM-threshold sweep over predicted-class maps (SCM / LCA-MD), torch-free."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import (
    SIZE_BINS,
    binned_counts,
    box_size_ratios,
    scan_thresholds,
    size_bin_index,
    threshold_cutoffs,
    threshold_list,
)
from .base_scorer import BaseScorer
from .sample_fields import as_label, get_field
from .size_bins_mixin import SizeBinsMixin

_FLAGS = ('gt_known', 'top1_loc', 'top5_loc', 'gt_known_top5')


class ThresholdSweepLocScorer(SizeBinsMixin, BaseScorer):
    """Top-1 / Top-5 / GT-known Loc at oracle thresholds, protocol ``sweep``.

    For the top-K predicted classes' maps (``pred_cams``, ``pred_cam_labels``)
    and every threshold of ``np.arange(0, 1, cam_curve_interval)`` (0 .. 0.99),
    the uint8 map is cut at ``> int(theta * 255)``, the largest contour's box is
    clipped to W-1/H-1 ((0, 0, 0, 0) when empty) and compared with the best GT
    box (+1 IoU). Per threshold: ``gt_known`` = the TOP-1 PREDICTED class map
    has IoU >= 0.5 (not the GT-class map); ``top1_loc`` = top-1 class correct
    and IoU >= 0.5; ``top5_loc`` = some top-5 class is the GT and its map has
    IoU >= 0.5; ``gt_known_top5`` = any top-5 map has IoU >= 0.5. Each metric
    is reported at its own best threshold on the evaluated split
    (``best_thr_<key>`` too), so numbers are not comparable with ``fixed``.

    With ``size_bins=True``, ``size_<a>-<b>`` is ``gt_known`` of the images
    whose top-1 map matches best a GT box of that bin, read at
    ``best_thr_gt_known``.

    Args:
        cam_curve_interval (float): threshold step. Defaults to 0.01.
        iou_thr (float): IoU threshold in percent. Defaults to 50.
        topk (int): number of predicted-class maps used. Defaults to 5.
        size_bins (bool): add ``gt_known`` per size bin. Defaults to False.
        size_bin_edges (Sequence[float]): bin edges (percent). Defaults to SIZE_BINS.
        size_groups (dict, optional): grouped keys' percent ranges.
        size_bin_rule (str): ``'chosen'`` or ``'released'`` (see
            ``MaxBoxAccScorer``). Defaults to 'chosen'.
    """
    default_prefix: Optional[str] = 'sweep'
    metric_type = 'ThresholdSweepLocMetric'
    protocol = 'sweep'

    def __init__(self, cam_curve_interval: float = 0.01, iou_thr: float = 50, topk: int = 5,
                 size_bins: bool = False, size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 size_bin_rule: str = 'chosen') -> None:
        super().__init__()
        self.cam_curve_interval = cam_curve_interval
        self.thresholds = threshold_list(cam_curve_interval)
        # SCM's evaluator cuts at int(theta * 255), not at int(theta * max)
        self.cutoffs = threshold_cutoffs(self.thresholds, 255)
        self.iou_thr = iou_thr
        self.topk = topk
        self._init_size_bins(size_bins, size_bin_edges, size_groups, size_bin_rule)

    def record(self, sample: dict) -> dict:
        """Per-threshold flag bits of one image (one uint8 per threshold)."""
        name = type(self).__name__
        cams = get_field(sample, 'pred_cams', name)
        labels = np.asarray(get_field(sample, 'pred_cam_labels', name)).reshape(-1)
        boxes = get_field(sample, 'gt_bboxes', name)
        gt = as_label(get_field(sample, 'gt_label', name))
        k = min(self.topk, len(cams))
        hits = np.zeros((k, len(self.cutoffs)), bool)
        top1_gt = None
        bins = None
        if self.size_bins:
            ratios = box_size_ratios(get_field(sample, 'ori_gt_bboxes', name),
                                     get_field(sample, 'ori_shape', name))
            bins = size_bin_index(ratios, self.size_bin_edges).astype(np.int8)
        floor = self.iou_thr / 100
        for j in range(k):
            # only the hit bits are kept: exact IoUs are needed only around the IoU
            # threshold, unless the top-1 map's best GT box decides a size bin
            exact = j == 0 and bins is not None and len(np.unique(bins)) > 1
            ious, gt_idx, _ = scan_thresholds(cams[j], boxes, multi_contour=False,
                                              thresholds=self.thresholds, scale=255,
                                              iou_floors=None if exact else (floor, ))
            hits[j] = ious[self.cutoffs] >= floor
            if j == 0:
                top1_gt = gt_idx[self.cutoffs]
        correct = labels[:k] == gt
        flags = (hits[0], hits[0] & correct[0], (hits & correct[:, None]).any(0), hits.any(0))
        packed = np.zeros(len(self.cutoffs), np.uint8)
        for i, f in enumerate(flags):
            packed |= f.astype(np.uint8) << i
        record = dict(flags=packed)
        if bins is not None:
            record['bin'] = bins[top1_gt] if len(np.unique(bins)) > 1 else np.full(
                len(self.cutoffs), bins[0], np.int8)
        return record

    def _curves(self, results: List[dict]) -> np.ndarray:
        if not results:
            return np.zeros((len(_FLAGS), 1))
        flags = np.stack([r['flags'] for r in results])
        return np.stack([100.0 * ((flags >> i) & 1).mean(0) for i in range(len(_FLAGS))])

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Each accuracy at its own best threshold, and that threshold."""
        curves = self._curves(results)
        metrics = {}
        for i, key in enumerate(_FLAGS):
            metrics[key] = float(curves[i].max())
            metrics[f'best_thr_{key}'] = float(self.thresholds[int(curves[i].argmax())])
        if self.size_bins and results:
            bins = np.stack([r['bin'] for r in results])
            hits = (np.stack([r['flags'] for r in results]) & 1)[None]
            count, correct = binned_counts(bins, hits, len(self.size_bin_edges) - 1)
            metrics.update(self._threshold_bin_report(count, correct,
                                                      [int(curves[0].argmax())]))
        return metrics

    def curves(self, results: List[dict]) -> Dict[str, Any]:
        """Each accuracy (percent) per CAM threshold."""
        return {key: c.tolist() for key, c in zip(_FLAGS, self._curves(results)) if results}
