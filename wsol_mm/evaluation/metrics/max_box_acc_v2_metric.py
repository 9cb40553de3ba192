"""MaxBoxAccV2 (TPAMI) metric of wsolevaluation."""
from typing import Dict, Optional, Sequence, Tuple

from wsol_mm.registry import METRICS

from ..functional import SIZE_BINS
from .max_box_acc_metric import MaxBoxAccMetric


@METRICS.register_module()
class MaxBoxAccV2Metric(MaxBoxAccMetric):
    """MaxBoxAccV2, protocol ``wsolevaluation``: all contours, IoU 30/50/70, mean.

    Same pipeline as :class:`MaxBoxAccMetric` but the boxes of ALL RETR_TREE
    contours (hole contours included) are kept and the best match counts; each
    IoU threshold uses its own best CAM threshold and ``mean`` averages them.
    With ``size_bins=True`` it adds ``size_<a>-<b>`` for each bin plus
    ``small``, ``medium``, ``large`` and ``size_mean`` (Small Object Matters).

    Args:
        iou_thrs (Sequence[float]): IoU thresholds in percent. Defaults to (30, 50, 70).
        cam_curve_interval (float): CAM threshold step. Defaults to 0.001.
        size_bins (bool): add the size keys. Defaults to False.
        size_bin_edges (Sequence[float]): bin edges (percent). Defaults to SIZE_BINS.
        size_groups (dict, optional): grouped keys' percent ranges. Defaults to
            small [0, 4), medium [4, 36), large [36, 100].
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
    """
    default_prefix: Optional[str] = 'maxboxaccv2'

    def __init__(self, iou_thrs: Sequence[float] = (30, 50, 70),
                 cam_curve_interval: float = 0.001, size_bins: bool = False,
                 size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(iou_thrs=iou_thrs, cam_curve_interval=cam_curve_interval,
                         multi_contour=True, size_bins=size_bins,
                         size_bin_edges=size_bin_edges, size_groups=size_groups,
                         collect_device=collect_device, prefix=prefix)
