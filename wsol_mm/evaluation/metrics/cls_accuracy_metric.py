"""Top-k classification accuracy."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ._sample_fields import as_label, get_field


@METRICS.register_module()
class ClsAccuracyMetric(BaseMetric):
    """Top-1 / top-5 classification accuracy (percent), protocol-independent.

    Args:
        topk (Sequence[int]): the k values. Defaults to (1, 5).
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
    """
    default_prefix: Optional[str] = 'cls'

    def __init__(self, topk: Sequence[int] = (1, 5), collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Append the rank of the GT class among the predicted scores."""
        name = type(self).__name__
        for sample in data_samples:
            score = np.asarray(get_field(sample, 'pred_score', name), np.float64)
            label = as_label(get_field(sample, 'gt_label', name))
            # stable descending order: tied scores keep the lower class index first
            order = np.argsort(-score, kind='stable')
            self.results.append(dict(rank=int(np.nonzero(order == label)[0][0])))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Accuracy for each k."""
        ranks = np.array([r['rank'] for r in results])
        return {f'top{k}': float(100.0 * np.mean(ranks < k)) if len(ranks) else 0.0
                for k in self.topk}
