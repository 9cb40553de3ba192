"""MaxBoxAccV2 (TPAMI) of wsolevaluation, torch-free."""
from typing import Dict, Optional, Sequence, Tuple

from ..functional import SIZE_BINS
from .max_box_acc_scorer import MaxBoxAccScorer


class MaxBoxAccV2Scorer(MaxBoxAccScorer):
    """MaxBoxAccV2, protocol ``wsolevaluation``: all contours, IoU 30/50/70, mean.

    Same pipeline as :class:`MaxBoxAccScorer` but the boxes of ALL RETR_TREE
    contours (hole contours included) are kept and the best match counts; each
    IoU threshold uses its own best CAM threshold and ``mean`` averages them.
    With ``size_bins=True`` it adds ``size_<a>-<b>`` for each bin plus
    ``small``, ``medium``, ``large`` and ``size_mean`` (Small Object Matters),
    each with its image count ``count_<name>``.

    Args:
        iou_thrs (Sequence[float]): IoU thresholds in percent. Defaults to (30, 50, 70).
        cam_curve_interval (float): CAM threshold step. Defaults to 0.001.
        size_bins (bool): add the size keys. Defaults to False.
        size_bin_edges (Sequence[float]): bin edges (percent). Defaults to SIZE_BINS.
        size_groups (dict, optional): grouped keys' percent ranges. Defaults to
            small [0, 4), medium [4, 36), large [36, 100].
        size_bin_rule (str): ``'chosen'`` or ``'released'`` (see
            :class:`MaxBoxAccScorer`). Defaults to 'chosen'.
    """
    default_prefix: Optional[str] = 'maxboxaccv2'
    metric_type = 'MaxBoxAccV2Metric'

    def __init__(self, iou_thrs: Sequence[float] = (30, 50, 70),
                 cam_curve_interval: float = 0.001, size_bins: bool = False,
                 size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 size_bin_rule: str = 'chosen') -> None:
        super().__init__(iou_thrs=iou_thrs, cam_curve_interval=cam_curve_interval,
                         multi_contour=True, size_bins=size_bins,
                         size_bin_edges=size_bin_edges, size_groups=size_groups,
                         size_bin_rule=size_bin_rule)
