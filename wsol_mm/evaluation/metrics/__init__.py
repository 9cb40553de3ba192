"""mmengine metrics of wsol_mm: scorers (``..scorers``) over ``BaseMetric``."""
from .cls_accuracy_metric import ClsAccuracyMetric
from .dump_scoremaps import DumpScoremaps
from .dump_wsol_results import DumpWSOLResults
from .fixed_threshold_loc_metric import FixedThresholdLocMetric
from .max_box_acc_metric import MaxBoxAccMetric
from .max_box_acc_v2_metric import MaxBoxAccV2Metric
from .pxap_metric import PxAPMetric
from .scorer_metric_mixin import ScorerMetricMixin
from .threshold_sweep_loc_metric import ThresholdSweepLocMetric

__all__ = ['DumpScoremaps', 'DumpWSOLResults', 'ClsAccuracyMetric', 'MaxBoxAccMetric',
           'MaxBoxAccV2Metric', 'PxAPMetric', 'FixedThresholdLocMetric', 'ThresholdSweepLocMetric',
           'ScorerMetricMixin']
