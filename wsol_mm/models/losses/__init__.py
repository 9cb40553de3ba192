from .cross_entropy_loss import CrossEntropyLoss
from .sim_max_loss import SimMaxLoss
from .sim_min_loss import SimMinLoss

__all__ = ['CrossEntropyLoss', 'SimMaxLoss', 'SimMinLoss']
