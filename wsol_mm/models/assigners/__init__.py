from .target_sampling_assigner import TargetSamplingAssigner

__all__ = ['TargetSamplingAssigner']
