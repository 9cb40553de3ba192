from .cross_entropy_loss import CrossEntropyLoss
from .feature_alignment_loss import FeatureAlignmentLoss
from .mmd_loss import MultiKernelMMDLoss
from .sim_max_loss import SimMaxLoss
from .sim_min_loss import SimMinLoss

__all__ = [
    'CrossEntropyLoss', 'SimMaxLoss', 'SimMinLoss', 'MultiKernelMMDLoss', 'FeatureAlignmentLoss'
]
