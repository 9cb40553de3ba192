"""Top-1 / Top-5 / GT-known localization at one fixed CAM threshold (TS-CAM)."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional import box_iou, contour_boxes, quantize_cam
from ._sample_fields import as_label, get_field


@METRICS.register_module()
class FixedThresholdLocMetric(BaseMetric):
    """Legacy localization accuracy, protocol ``fixed`` (TS-CAM ``cls_loc_err``).

    One CAM threshold for every image: the GT-class map (``pred_cam``) is
    quantised ``floor(255 s)``, cut at ``> int(cam_thr * max)``, and the box of
    the largest contour (``cv2.contourArea``) is ``(x, y, x + w, y + h)``
    without clipping; an empty mask gives TS-CAM's ``[0, 0, 1, 1]``. IoU uses the
    +1 convention and the best GT box. ``gt_known``: IoU >= 0.5;
    ``top1``: top-1 class correct and IoU > 0.5 (strict, as TS-CAM codes it);
    ``top5``: GT among the top-5 classes and IoU > 0.5 (the map of a correct
    class is the GT-class map, so ``pred_cam`` serves all three).

    Args:
        cam_thr (float): the CAM threshold (TS-CAM: 0.1 CUB, 0.12 ILSVRC). Defaults to 0.1.
        iou_thr (float): IoU threshold in percent. Defaults to 50.
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
    """
    default_prefix: Optional[str] = 'loc'
    protocol = 'fixed'

    def __init__(self, cam_thr: float = 0.1, iou_thr: float = 50, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.cam_thr = cam_thr
        self.iou_thr = iou_thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Append the IoU of the fixed-threshold box and the GT class rank."""
        name = type(self).__name__
        for sample in data_samples:
            u = quantize_cam(np.asarray(get_field(sample, 'pred_cam', name), np.float64))
            box = contour_boxes(u, int(self.cam_thr * np.max(u)), multi_contour=False,
                                clip=False, empty_box=(0, 0, 1, 1))
            iou = float(box_iou(box, get_field(sample, 'gt_bboxes', name)).max())
            score = np.asarray(get_field(sample, 'pred_score', name), np.float64)
            label = as_label(get_field(sample, 'gt_label', name))
            rank = int(np.nonzero(np.argsort(-score, kind='stable') == label)[0][0])
            self.results.append(dict(iou=iou, rank=rank))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Top-1 / Top-5 Loc (strict IoU) and GT-known Loc (inclusive IoU)."""
        iou = np.array([r['iou'] for r in results])
        rank = np.array([r['rank'] for r in results])
        thr = self.iou_thr / 100

        def pct(mask: np.ndarray) -> float:
            return float(100.0 * mask.mean()) if len(mask) else 0.0

        return dict(top1=pct((rank < 1) & (iou > thr)), top5=pct((rank < 5) & (iou > thr)),
                    gt_known=pct(iou >= thr))
