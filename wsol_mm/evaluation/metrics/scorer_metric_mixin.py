"""What every registered metric adds to its scorer: mmengine's ``BaseMetric`` set-up."""
from typing import Any, Optional

from mmengine.evaluator import BaseMetric

from ..functional.kernel_warmup import start_kernel_warmup


class ScorerMetricMixin:
    """Turns a scorer (``..scorers``) into an mmengine metric.

    A registered metric lists this mixin first, its scorer next and ``BaseMetric``
    last (``class MaxBoxAccMetric(ScorerMetricMixin, MaxBoxAccScorer, BaseMetric)``),
    so ``process`` and ``compute_metrics`` are the scorer's, unchanged, and
    ``tools/analysis_tools/eval_cams.py`` (which runs the scorer) reports the same
    numbers; ``BaseMetric`` adds gathering across ranks and the key prefix (the
    scorer's ``default_prefix``).

    Args:
        *args: the scorer's arguments.
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
        **kwargs: the scorer's keyword arguments.
    """

    #: start compiling the numba kernels in the background when the metric is built, so
    #: the first evaluation does not wait for them (False: a scorer without kernels)
    warm_kernels: bool = True

    def __init__(self, *args: Any, collect_device: str = 'cpu', prefix: Optional[str] = None,
                 **kwargs: Any) -> None:
        BaseMetric.__init__(self, collect_device=collect_device, prefix=prefix)
        super().__init__(*args, **kwargs)  # the scorer's (BaseScorer ends the chain)
        if self.warm_kernels:
            start_kernel_warmup()
