"""Top-1 / Top-5 / GT-known localization at one CAM threshold (TS-CAM protocol)."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional.cutoff_scan import best_ious_at_thresholds
from ._records import cam_of, require, to_numpy


@METRICS.register_module()
class FixedThresholdLocMetric(BaseMetric):
    """Protocol ``fixed`` (TS-CAM ``evaluate_cls_loc``): no threshold search.

    Largest contour of ``map > int(cam_thr * max)``. ``gt_known``: GT-class map,
    IoU >= 0.5. ``top1``: top-1 class correct and its map's IoU > 0.5 (strict,
    as TS-CAM codes it); ``top5``: a correct class among the top 5 whose map
    has IoU > 0.5. Needs ``pred_cams`` (``model.test_cfg.topk_cams=5``).

    Args:
        cam_thr (float): CAM threshold (0.1 CUB, 0.12 ILSVRC in TS-CAM). Defaults to 0.1.
        iou_thr (float): IoU threshold. Defaults to 0.5.
    """

    default_prefix = 'loc'
    protocol = 'fixed'

    def __init__(self, cam_thr: float = 0.1, iou_thr: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cam_thr, self.iou_thr = cam_thr, iou_thr

    def _iou(self, cam: np.ndarray, gts: np.ndarray) -> float:
        return float(best_ious_at_thresholds(cam, gts, [self.cam_thr], False)[0][0])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gts = to_numpy(require(sample, 'gt_bboxes', 'evaluation splits need boxes'))
            gts = gts.reshape(-1, 4)
            label = int(to_numpy(sample['gt_label'])[0])
            cams = to_numpy(require(sample, 'pred_cams', 'set model.test_cfg.topk_cams=5'))
            classes = to_numpy(sample['pred_cam_labels'])[:5]
            topk_iou = [self._iou(c.astype(np.float64), gts) for c in cams[:5]]
            self.results.append(dict(
                gt_iou=self._iou(cam_of(sample), gts),
                top1=bool(classes[0] == label and topk_iou[0] > self.iou_thr),
                top5=any(c == label and i > self.iou_thr for c, i in zip(classes, topk_iou))))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return dict(
            top1=float(np.mean([r['top1'] for r in results]) * 100),
            top5=float(np.mean([r['top5'] for r in results]) * 100),
            gt_known=float(np.mean([r['gt_iou'] >= self.iou_thr for r in results]) * 100))
