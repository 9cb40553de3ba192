"""Oracle CAM-threshold sweep over predicted-class maps (SCM / LCA-MD ``test_cam.py``)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional import quantize_cam, scan_cutoffs, threshold_cutoffs, threshold_list
from ._sample_fields import as_label, get_field

_FLAGS = ('gt_known', 'top1_loc', 'top5_loc', 'gt_known_top5')


@METRICS.register_module()
class ThresholdSweepLocMetric(BaseMetric):
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

    Args:
        cam_curve_interval (float): threshold step. Defaults to 0.01.
        iou_thr (float): IoU threshold in percent. Defaults to 50.
        topk (int): number of predicted-class maps used. Defaults to 5.
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
    """
    default_prefix: Optional[str] = 'sweep'
    protocol = 'sweep'

    def __init__(self, cam_curve_interval: float = 0.01, iou_thr: float = 50, topk: int = 5,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thresholds = threshold_list(cam_curve_interval)
        # SCM's evaluator cuts at int(theta * 255), not at int(theta * max)
        self.cutoffs = threshold_cutoffs(self.thresholds, 255)
        self.iou_thr = iou_thr
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Append per-threshold flag bits (one uint8 per threshold)."""
        name = type(self).__name__
        for sample in data_samples:
            cams = np.asarray(get_field(sample, 'pred_cams', name), np.float64)
            labels = np.asarray(get_field(sample, 'pred_cam_labels', name)).reshape(-1)
            boxes = get_field(sample, 'gt_bboxes', name)
            gt = as_label(get_field(sample, 'gt_label', name))
            k = min(self.topk, len(cams))
            hits = np.zeros((k, len(self.cutoffs)), bool)
            for j in range(k):
                ious, _ = scan_cutoffs(quantize_cam(cams[j]), boxes, multi_contour=False,
                                       cutoffs=self.cutoffs)
                hits[j] = ious[self.cutoffs] >= self.iou_thr / 100
            correct = labels[:k] == gt
            flags = (hits[0], hits[0] & correct[0], (hits & correct[:, None]).any(0), hits.any(0))
            packed = np.zeros(len(self.cutoffs), np.uint8)
            for i, f in enumerate(flags):
                packed |= f.astype(np.uint8) << i
            self.results.append(dict(flags=packed))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Each accuracy at its own best threshold, and that threshold."""
        flags = np.stack([r['flags'] for r in results]) if results else np.zeros((0, 1), np.uint8)
        metrics = {}
        for i, key in enumerate(_FLAGS):
            curve = 100.0 * ((flags >> i) & 1).mean(0) if len(flags) else np.zeros(1)
            metrics[key] = float(curve.max())
            metrics[f'best_thr_{key}'] = float(self.thresholds[int(curve.argmax())])
        return metrics
