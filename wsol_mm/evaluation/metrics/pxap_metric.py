"""Pixel average precision over the split (OpenImages protocol of wsolevaluation)."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional.cutoff_scan import threshold_list
from ._records import cam_of, require, to_numpy


@METRICS.register_module()
class PxAPMetric(BaseMetric):
    """Protocol ``wsolevaluation`` for masks: PxAP and pIoU, pixels pooled over the split.

    Histogram edges are the CAM thresholds followed by 1, 2, 3 (as the
    reference); ignore pixels count as neither positive nor negative. PxAP is
    the right-endpoint sum of precision x recall steps; pIoU is the best pixel
    IoU ``TP / (TP + FP + FN)`` over thresholds (TPAMI definition).

    Args:
        cam_curve_interval (float): threshold step. Defaults to 0.001.
    """

    default_prefix = 'pxap'
    protocol = 'wsolevaluation'

    def __init__(self, cam_curve_interval: float = 0.001, **kwargs) -> None:
        super().__init__(**kwargs)
        self.edges = np.concatenate([threshold_list(cam_curve_interval), [1.0, 2.0, 3.0]])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            cam = cam_of(sample)
            fg = to_numpy(require(sample, 'gt_mask', 'use a mask dataset (ann_kind="mask")'))
            ignore = to_numpy(sample.get('ignore_mask', np.zeros_like(fg))).astype(bool)
            fg = fg.astype(bool) & ~ignore
            bg = ~fg & ~ignore
            self.results.append(dict(
                fg=np.histogram(cam[fg], bins=self.edges)[0].astype(np.int64),
                bg=np.histogram(cam[bg], bins=self.edges)[0].astype(np.int64)))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        fg = np.sum([r['fg'] for r in results], axis=0)
        bg = np.sum([r['bg'] for r in results], axis=0)
        total_fg = fg.sum()
        if total_fg == 0:
            raise RuntimeError('PxAP: the split has no foreground pixel')
        tp = np.cumsum(fg[::-1])[::-1]  # pixels with score >= each left edge
        fp = np.cumsum(bg[::-1])[::-1]
        tp, fp = np.append(tp, 0)[::-1], np.append(fp, 0)[::-1]  # from threshold 3 down to 0
        if not (tp + fp > 0).any():
            raise RuntimeError('PxAP: no pixel is ever predicted positive')
        with np.errstate(invalid='ignore', divide='ignore'):
            precision = tp / (tp + fp)
        recall = tp / total_fg
        valid = (tp + fp)[1:] > 0
        pxap = np.sum(precision[1:][valid] * np.diff(recall)[valid]) * 100
        piou = np.max(tp / (total_fg + fp)) * 100
        return dict(pxap=float(pxap), piou=float(piou))
