"""Per-size-bin options and reporting shared by the scorers with size bins."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import group_bin_indices, size_bin_names

__all__ = ['SizeBinsMixin', 'SIZE_BIN_RULES']

#: how an empty bin is recognised (see ``docs/evaluation.md``, "Size bins")
SIZE_BIN_RULES = ('chosen', 'released')


class SizeBinsMixin:
    """Stores the size-bin options and turns per-bin scores into metric keys.

    Keys: ``size_<a>-<b>`` per bin and one per ``size_groups`` entry, each with
    its image count ``count_<name>``, and ``size_mean`` (mean over the bins
    whose count is not 0). A count of 0 marks an empty bin: its score is
    reported as 0 (as Small Object Matters prints it) but is not a measurement.
    """

    def _init_size_bins(self, size_bins: bool, size_bin_edges: Sequence[float],
                        size_groups: Optional[Dict[str, Tuple[float, float]]],
                        size_bin_rule: str = 'chosen') -> None:
        if size_bin_rule not in SIZE_BIN_RULES:
            raise ValueError(f'size_bin_rule must be one of {SIZE_BIN_RULES}, '
                             f'got {size_bin_rule!r}')
        self.size_bins = size_bins
        self.size_bin_edges = tuple(size_bin_edges)
        self.size_groups = size_groups
        self.size_bin_rule = size_bin_rule

    def size_bin_keys(self) -> Tuple[List[str], List[str]]:
        """Names of the bins and of the groups (metric keys without prefix)."""
        groups = group_bin_indices(self.size_bin_edges, self.size_groups)
        return size_bin_names(self.size_bin_edges), list(groups)

    def _threshold_bin_report(self, count: np.ndarray, correct: np.ndarray,
                              best_idx: Sequence[int]) -> Dict[str, float]:
        """Size keys from per-(bin, threshold) counts, read at the chosen thresholds.

        Args:
            count (np.ndarray): ``(B, T)`` images per bin and CAM threshold.
            correct (np.ndarray): ``(I, B, T)`` correct images per accuracy plane.
            best_idx (Sequence[int]): ``(I,)`` chosen threshold index of each plane
                (chosen once on the whole split); a bin's score averages the planes.
        """
        rows = np.arange(len(best_idx))
        best_idx = np.asarray(best_idx)

        def score(bins: List[int]) -> Tuple[float, int]:
            c = count[bins].sum(0)  # images per CAM threshold
            c_best = c[best_idx]
            k_best = correct[:, bins].sum(1)[rows, best_idx]
            if self.size_bin_rule == 'released' and c.min() == 0:
                return 0.0, 0  # empty at some CAM threshold: the released code prints 0
            value = np.where(c_best > 0, k_best * 100. / np.maximum(c_best, 1), 0.0)
            return float(np.mean(value)), int(c_best.min())

        return self._size_bin_report(score)

    def _size_bin_report(self, score: Callable[[List[int]], Tuple[float, int]]
                         ) -> Dict[str, float]:
        """Metric keys from ``score(bins) -> (value, image count)``."""
        metrics: Dict[str, float] = {}
        filled = []
        for b, key in enumerate(size_bin_names(self.size_bin_edges)):
            metrics[key], count = score([b])
            metrics[f'count_{key}'] = int(count)
            if count > 0:
                filled.append(metrics[key])
        for group, bins in group_bin_indices(self.size_bin_edges, self.size_groups).items():
            metrics[group], count = score(bins)
            metrics[f'count_{group}'] = int(count)
        metrics['size_mean'] = float(np.mean(filled)) if filled else 0.0
        return metrics
