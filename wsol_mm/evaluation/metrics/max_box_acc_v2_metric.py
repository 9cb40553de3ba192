"""MaxBoxAccV2 (TPAMI) metric of wsolevaluation."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import MaxBoxAccV2Scorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class MaxBoxAccV2Metric(ScorerMetricMixin, MaxBoxAccV2Scorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.MaxBoxAccV2Scorer`.

    Keys are prefixed ``maxboxaccv2/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """
