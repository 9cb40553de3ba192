"""Top-1 / Top-5 / GT-known localization at one fixed CAM threshold (TS-CAM)."""
from typing import Any, Optional

from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional.kernel_warmup import start_kernel_warmup
from ..scorers import FixedThresholdLocScorer


@METRICS.register_module()
class FixedThresholdLocMetric(FixedThresholdLocScorer, BaseMetric):
    """The registered metric of :class:`~wsol_mm.evaluation.scorers.FixedThresholdLocScorer`.

    mmengine's ``BaseMetric`` adds gathering across ranks and the key prefix
    (``loc/`` by default).

    ``process`` and ``compute_metrics`` are the scorer's, unchanged, so
    ``tools/analysis_tools/eval_cams.py`` (which runs the scorer) reports the
    same numbers.

    Args:
        *args: the scorer's arguments.
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
        **kwargs: the scorer's keyword arguments.
    """

    def __init__(self, *args: Any, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 **kwargs: Any) -> None:
        BaseMetric.__init__(self, collect_device=collect_device, prefix=prefix)
        FixedThresholdLocScorer.__init__(self, *args, **kwargs)
        start_kernel_warmup()  # compile the kernels before the first evaluation
