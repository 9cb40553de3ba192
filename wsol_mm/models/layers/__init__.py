from .attention_based_dropout import AttentionBasedDropout
from .attentive_drop import AttentiveDrop
from .cross_patch_activation_block import CrossPatchActivationBlock
from .recomputed_max_pool2d import RecomputedMaxPool2d
from .winograd_conv2d import WinogradConv2d, is_winograd_eligible, use_winograd_convs

__all__ = ['AttentiveDrop', 'CrossPatchActivationBlock', 'AttentionBasedDropout', 'WinogradConv2d',
           'is_winograd_eligible', 'use_winograd_convs', 'RecomputedMaxPool2d']
