"""Oracle CAM-threshold sweep over predicted-class maps (SCM / LCA-MD)."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import ThresholdSweepLocScorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class ThresholdSweepLocMetric(ScorerMetricMixin, ThresholdSweepLocScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.ThresholdSweepLocScorer`.

    Keys are prefixed ``sweep/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """
