from .bridging_gap import BridgingGap
from .domain_adaptation import DomainAdaptation

__all__ = ['DomainAdaptation', 'BridgingGap']
