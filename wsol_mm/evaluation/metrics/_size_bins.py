"""Per-size-bin reporting shared by the wsolevaluation metrics (MaxBoxAcc, PxAP)."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import group_bin_indices, size_bin_names


class SizeBinsMixin:
    """Stores the size-bin options and turns a per-bin score into metric keys.

    Keys: ``size_<a>-<b>`` per bin, one per ``size_groups`` entry, and
    ``size_mean`` (mean over the non-empty bins).
    """

    def _init_size_bins(self, size_bins: bool, size_bin_edges: Sequence[float],
                        size_groups: Optional[Dict[str, Tuple[float, float]]]) -> None:
        self.size_bins = size_bins
        self.size_bin_edges = tuple(size_bin_edges)
        self.size_groups = size_groups

    def _size_bin_report(self, score: Callable[[List[int]], Tuple[float, bool]]
                         ) -> Dict[str, float]:
        """Metric keys from ``score(bins) -> (value, non_empty)``.

        An empty selection reports the value ``score`` gives it (0 for both
        metrics) and is left out of ``size_mean``.
        """
        metrics = {}
        non_empty = []
        for b, key in enumerate(size_bin_names(self.size_bin_edges)):
            metrics[key], filled = score([b])
            if filled:
                non_empty.append(metrics[key])
        for group, bins in group_bin_indices(self.size_bin_edges, self.size_groups).items():
            metrics[group] = score(bins)[0]
        metrics['size_mean'] = float(np.mean(non_empty)) if non_empty else 0.0
        return metrics
