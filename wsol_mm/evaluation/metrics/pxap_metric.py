"""PxAP / pIoU metric for mask datasets (OpenImages)."""
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..scorers import PxAPScorer
from .scorer_metric_mixin import ScorerMetricMixin


@METRICS.register_module()
class PxAPMetric(ScorerMetricMixin, PxAPScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.PxAPScorer`.

    Keys are prefixed ``pxap/`` by default; the arguments are the scorer's plus
    ``collect_device`` and ``prefix`` (:class:`ScorerMetricMixin`).
    """
