from .attention_based_dropout import AttentionBasedDropout
from .attentive_drop import AttentiveDrop
from .cross_patch_activation_block import CrossPatchActivationBlock

__all__ = ['AttentiveDrop', 'CrossPatchActivationBlock', 'AttentionBasedDropout']
