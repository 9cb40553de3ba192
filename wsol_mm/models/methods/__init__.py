from .bridging_gap import BridgingGap
from .domain_adaptation import DomainAdaptation
from .spg import SPG

__all__ = ['DomainAdaptation', 'BridgingGap', 'SPG']
