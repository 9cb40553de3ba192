"""Localization at the best threshold per metric over predicted-class maps (SCM/LCA-MD)."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional.cutoff_scan import best_ious_at_thresholds, threshold_list
from ._records import require, to_numpy


@METRICS.register_module()
class ThresholdSweepLocMetric(BaseMetric):
    """Protocol ``sweep`` (SCM / LCA-MD ``test_cam.py``): oracle threshold per metric.

    For thresholds 0, 0.01, ..., 0.99 the largest contour of each top-5
    predicted-class map is scored against the GT boxes. ``gt_known``: the
    top-1 *predicted* class map has IoU >= 0.5; ``top1_loc``: top-1 correct and
    IoU >= 0.5; ``top5_loc``: a correct class among the top 5 with IoU >= 0.5.
    Each is reported at its own best threshold (``*_thr`` keys).

    Args:
        cam_curve_interval (float): threshold step. Defaults to 0.01.
        iou_thr (float): IoU threshold. Defaults to 0.5.
    """

    default_prefix = 'sweep'
    protocol = 'sweep'

    def __init__(self, cam_curve_interval: float = 0.01, iou_thr: float = 0.5,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.thresholds = threshold_list(cam_curve_interval)
        self.iou_thr = iou_thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gts = to_numpy(require(sample, 'gt_bboxes', 'evaluation splits need boxes'))
            cams = to_numpy(require(sample, 'pred_cams', 'set model.test_cfg.topk_cams=5'))
            classes = to_numpy(sample['pred_cam_labels'])[:5]
            ious = np.stack([best_ious_at_thresholds(c.astype(np.float64), gts.reshape(-1, 4),
                                                     self.thresholds, False)[0]
                             for c in cams[:5]])
            label = int(to_numpy(sample['gt_label'])[0])
            self.results.append(dict(ious=ious.astype(np.float32),
                                     correct=(classes == label)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        hit = np.stack([r['ious'] >= self.iou_thr for r in results])  # (N, K, T)
        correct = np.stack([r['correct'] for r in results])[:, :, None]  # (N, K, 1)
        curves = dict(gt_known=hit[:, 0], top1_loc=hit[:, 0] & correct[:, 0],
                      top5_loc=(hit & correct).any(1))
        out = {}
        for name, curve in curves.items():
            acc = curve.mean(0) * 100
            out[name] = float(acc.max())
            out[f'{name}_thr'] = float(self.thresholds[int(acc.argmax())])
        return out
