"""MaxBoxAcc v1 (CVPR 2020): largest contour, IoU 50."""
from typing import Sequence

from wsol_mm.registry import METRICS

from .max_box_acc_v2_metric import MaxBoxAccV2Metric


@METRICS.register_module()
class MaxBoxAccMetric(MaxBoxAccV2Metric):
    """Protocol ``wsolevaluation`` v1: largest contour by polygon area, IoU 50.

    Args:
        iou_thrs (Sequence[int]): Defaults to (50, ).
        **kwargs: see :class:`MaxBoxAccV2Metric`.
    """

    default_prefix = 'maxboxacc'

    def __init__(self, iou_thrs: Sequence[int] = (50, ), **kwargs) -> None:
        kwargs.setdefault('multi_contour', False)
        super().__init__(iou_thrs=iou_thrs, **kwargs)
