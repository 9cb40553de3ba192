"""MaxBoxAcc (v1, CVPR 2020) metric of wsolevaluation."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import MaxBoxAccScorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class MaxBoxAccMetric(ScorerMetricMixin, MaxBoxAccScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.MaxBoxAccScorer`.

    Keys are prefixed ``maxboxacc/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """
