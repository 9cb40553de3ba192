"""Top-1 / Top-5 / GT-known localization at one fixed CAM threshold (TS-CAM)."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import FixedThresholdLocScorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class FixedThresholdLocMetric(ScorerMetricMixin, FixedThresholdLocScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.FixedThresholdLocScorer`.

    Keys are prefixed ``loc/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """
