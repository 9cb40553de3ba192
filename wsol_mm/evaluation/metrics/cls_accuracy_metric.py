"""Top-k classification accuracy."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import ClsAccuracyScorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class ClsAccuracyMetric(ScorerMetricMixin, ClsAccuracyScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.ClsAccuracyScorer`.

    Keys are prefixed ``cls/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """

    warm_kernels = False  # no numba kernels
