"""Evaluation: pure maths (``functional``), torch-free metric bodies (``scorers``) and the
registered mmengine metrics (``metrics``).

``functional`` and ``scorers`` load with the package; the metric classes (mmengine,
torch) load on first use (:mod:`wsol_mm.lazy_exports`), so offline evaluation
starts without torch. The ``METRICS`` registry imports ``wsol_mm.evaluation.metrics``.
"""
from ..lazy_exports import lazy_exports
from .functional import *  # noqa: F401,F403
from .functional import __all__ as _functional_all
from .scorers import *  # noqa: F401,F403
from .scorers import __all__ as _scorers_all

_METRICS = ('DumpScoremaps', 'DumpWSOLResults', 'ClsAccuracyMetric', 'MaxBoxAccMetric',
            'MaxBoxAccV2Metric', 'PxAPMetric', 'FixedThresholdLocMetric',
            'ThresholdSweepLocMetric')
__getattr__, __dir__ = lazy_exports(__name__, {name: '.metrics' for name in _METRICS})
__all__ = list(_functional_all) + list(_scorers_all) + list(_METRICS)
