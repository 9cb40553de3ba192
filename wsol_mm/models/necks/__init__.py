from .ssfm import SSFM
from .tfcm import TFCM

__all__ = ['SSFM', 'TFCM']
