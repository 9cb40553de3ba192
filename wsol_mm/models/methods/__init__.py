from .attentive_drop import AttentiveDrop
from .bridging_gap import BridgingGap
from .domain_adaptation import DomainAdaptation
from .target_sampling_assigner import TargetSamplingAssigner

__all__ = ['DomainAdaptation', 'TargetSamplingAssigner', 'BridgingGap', 'AttentiveDrop']
