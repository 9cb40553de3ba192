from .base_cam_norm import BaseCAMNorm
from .ivr_norm import IVRNorm
from .max_norm import MaxNorm
from .min_max_norm import MinMaxNorm
from .pas_norm import PaSNorm

__all__ = ['BaseCAMNorm', 'MinMaxNorm', 'MaxNorm', 'PaSNorm', 'IVRNorm']
