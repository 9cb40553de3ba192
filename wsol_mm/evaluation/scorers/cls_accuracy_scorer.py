"""Top-k classification accuracy, torch-free."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from .base_scorer import BaseScorer
from .sample_fields import as_label, get_field


class ClsAccuracyScorer(BaseScorer):
    """Top-1 / top-5 classification accuracy (percent), protocol-independent.

    Args:
        topk (Sequence[int]): the k values. Defaults to (1, 5).
    """
    default_prefix: Optional[str] = 'cls'
    metric_type = 'ClsAccuracyMetric'

    def __init__(self, topk: Sequence[int] = (1, 5)) -> None:
        super().__init__()
        self.topk = tuple(topk)

    threaded = False  # an argsort per image

    def record(self, sample: dict) -> dict:
        """The rank of the GT class among the predicted scores."""
        name = type(self).__name__
        score = np.asarray(get_field(sample, 'pred_score', name), np.float64)
        label = as_label(get_field(sample, 'gt_label', name))
        # stable descending order: tied scores keep the lower class index first
        order = np.argsort(-score, kind='stable')
        return dict(rank=int(np.nonzero(order == label)[0][0]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracy for each k."""
        ranks = np.array([r['rank'] for r in results])
        return {f'top{k}': float(100.0 * np.mean(ranks < k)) if len(ranks) else 0.0
                for k in self.topk}
