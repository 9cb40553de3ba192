"""Top-1 / Top-5 classification accuracy."""
from typing import Dict, List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ._records import require, to_numpy


@METRICS.register_module()
class ClsAccuracyMetric(BaseMetric):
    """Classification accuracy (``cls/top1``, ``cls/top5``) in percent.

    Args:
        topk (Sequence[int]): the k values. Defaults to (1, 5).
    """

    default_prefix = 'cls'

    def __init__(self, topk: Sequence[int] = (1, 5), **kwargs) -> None:
        super().__init__(**kwargs)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            score = to_numpy(require(sample, 'pred_score', 'predict() must write it'))
            label = int(to_numpy(require(sample, 'gt_label', 'the split needs labels'))[0])
            rank = int((score > score[label]).sum())  # ties count in the label's favour
            self.results.append(dict(rank=rank))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        ranks = np.array([r['rank'] for r in results])
        return {f'top{k}': float((ranks < k).mean() * 100) for k in self.topk}
