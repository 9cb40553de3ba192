"""MaxBoxAccV2 (all contours, best match), with size-binned accuracy (wsolevaluation protocol)."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional.cutoff_scan import best_ious_at_thresholds, threshold_list
from ._records import bin_index, cam_of, require, size_ratios, to_numpy

SIZE_BINS = (0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100)


@METRICS.register_module()
class MaxBoxAccV2Metric(BaseMetric):
    """Protocol ``wsolevaluation``: GT-class maps, threshold sweep on the evaluated split.

    For each IoU threshold the best CAM threshold is chosen separately; ``mean``
    averages them. With ``size_bins``, each image goes to the bin of the GT box
    that matches best at the chosen threshold (original-image area ratio), and
    each bin is read at the threshold chosen once on the whole split
    (Small Object Matters); ``small``/``medium``/``large`` pool the images with
    ratio below ``small_max`` %, between, and at or above ``large_min`` %.

    Args:
        iou_thrs (Sequence[int]): IoU thresholds in percent. Defaults to (30, 50, 70).
        cam_curve_interval (float): CAM threshold step. Defaults to 0.001.
        multi_contour (bool): boxes of all contours (V2) or the largest (v1).
        size_bins (bool): add the size keys. Defaults to False.
        bin_edges (Sequence[float]): size bins in percent of the image area.
        small_max (float): upper edge of ``small`` in percent. Defaults to 4.
        large_min (float): lower edge of ``large`` in percent. Defaults to 36.
    """

    default_prefix = 'maxboxaccv2'
    protocol = 'wsolevaluation'

    def __init__(self, iou_thrs: Sequence[int] = (30, 50, 70), cam_curve_interval: float = 0.001,
                 multi_contour: bool = True, size_bins: bool = False,
                 bin_edges: Sequence[float] = SIZE_BINS, small_max: float = 4.0,
                 large_min: float = 36.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.iou_thrs = tuple(iou_thrs)
        self.thresholds = threshold_list(cam_curve_interval)
        self.multi_contour = multi_contour
        self.size_bins = size_bins
        self.bin_edges = tuple(bin_edges)
        self.small_max, self.large_min = small_max, large_min

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gts = to_numpy(require(sample, 'gt_bboxes', 'evaluation splits need boxes'))
            ious, gt_idx = best_ious_at_thresholds(cam_of(sample), gts.reshape(-1, 4),
                                                   self.thresholds, self.multi_contour)
            record = dict(ious=ious.astype(np.float32))
            if self.size_bins:
                record['gt_idx'] = gt_idx.astype(np.int16)
                record['ratios'] = size_ratios(sample).astype(np.float32)
            self.results.append(record)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        ious = np.stack([r['ious'] for r in results])  # (N, T)
        metrics, best_t = {}, {}
        for thr in self.iou_thrs:
            acc = (ious >= thr / 100).mean(0) * 100
            best_t[thr] = int(acc.argmax())
            metrics[f'iou{thr}'] = float(acc.max())
        metrics['mean'] = float(np.mean([metrics[f'iou{t}'] for t in self.iou_thrs]))
        if self.size_bins:
            metrics.update(self._size_metrics(results, ious, best_t))
        return metrics

    def _size_metrics(self, results: List[dict], ious: np.ndarray, best_t: dict) -> dict:
        n_bins = len(self.bin_edges) - 1
        per_bin = np.full((len(self.iou_thrs), n_bins), np.nan)
        groups = {g: [] for g in ('small', 'medium', 'large')}
        for j, thr in enumerate(self.iou_thrs):
            t = best_t[thr]
            correct = ious[:, t] >= thr / 100
            ratio = np.array([r['ratios'][min(int(r['gt_idx'][t]), len(r['ratios']) - 1)]
                              for r in results]) * 100
            bins = np.array([bin_index(x / 100, self.bin_edges) for x in ratio])
            for b in range(n_bins):
                if (bins == b).any():
                    per_bin[j, b] = correct[bins == b].mean() * 100
            masks = dict(small=ratio < self.small_max, large=ratio >= self.large_min)
            masks['medium'] = ~masks['small'] & ~masks['large']
            for g, m in masks.items():
                groups[g].append(correct[m].mean() * 100 if m.any() else np.nan)
        out = {}
        for b in range(n_bins):
            key = f'size_{self.bin_edges[b]:g}-{self.bin_edges[b + 1]:g}'
            out[key] = float(np.nanmean(per_bin[:, b])) if not np.isnan(per_bin[:, b]).all() \
                else 0.0
        for g, vals in groups.items():
            out[g] = float(np.nanmean(vals)) if not np.isnan(vals).all() else 0.0
        filled = ~np.isnan(per_bin).all(0)
        out['size_mean'] = float(np.nanmean(per_bin[:, filled].mean(0))) if filled.any() else 0.
        return out
