from .cross_patch_activation_block import CrossPatchActivationBlock
from .ssfm import SSFM
from .tfcm import TFCM

__all__ = ['CrossPatchActivationBlock', 'SSFM', 'TFCM']
