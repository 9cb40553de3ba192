"""Torch-free bodies of the evaluation metrics.

Each registered metric in ``wsol_mm.evaluation.metrics`` is ``<Name>Metric(<Name>Scorer,
BaseMetric)``: ``process`` and ``compute_metrics`` come from the scorer unchanged.
``tools/analysis_tools/eval_cams.py`` runs the scorers directly (no torch import).
"""
from typing import Dict, Type

from .base_scorer import BaseScorer
from .cls_accuracy_scorer import ClsAccuracyScorer
from .fixed_threshold_loc_scorer import FixedThresholdLocScorer
from .max_box_acc_scorer import MaxBoxAccScorer
from .max_box_acc_v2_scorer import MaxBoxAccV2Scorer
from .pxap_scorer import PxAPScorer
from .sample_fields import FIELD_HINTS, as_label, get_field
from .size_bins_mixin import SIZE_BIN_RULES, SizeBinsMixin
from .threshold_sweep_loc_scorer import ThresholdSweepLocScorer

#: scorer of each registered metric type
SCORERS: Dict[str, Type[BaseScorer]] = {
    cls.metric_type: cls
    for cls in (ClsAccuracyScorer, MaxBoxAccScorer, MaxBoxAccV2Scorer, PxAPScorer,
                FixedThresholdLocScorer, ThresholdSweepLocScorer)
}

__all__ = [
    'BaseScorer', 'ClsAccuracyScorer', 'FixedThresholdLocScorer', 'MaxBoxAccScorer',
    'MaxBoxAccV2Scorer', 'PxAPScorer', 'ThresholdSweepLocScorer', 'SizeBinsMixin',
    'SIZE_BIN_RULES', 'SCORERS', 'FIELD_HINTS', 'as_label', 'get_field'
]
