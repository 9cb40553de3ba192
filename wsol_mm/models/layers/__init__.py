from .attentive_drop import AttentiveDrop
from .cross_patch_activation_block import CrossPatchActivationBlock

__all__ = ['AttentiveDrop', 'CrossPatchActivationBlock']
