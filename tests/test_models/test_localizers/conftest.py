"""Shared fixtures of the localizer tests: hand-built features and an identity head."""
from typing import Callable

import pytest
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()


class _FixedBackbone(nn.Module):
    """Returns hand-built (patch_map, cls_attn) regardless of the input."""

    def __init__(self, fmap, attn):
        super().__init__()
        self.fmap, self.attn = fmap, attn

    def forward(self, x):
        return self.fmap, self.attn


def _identity_head(channels: int, loss_weight: float = 1.0) -> nn.Module:
    head = MODELS.build(dict(type='ConvCAMHead', num_classes=channels, in_channels=channels,
                             kernel_size=1,
                             loss=dict(type='CrossEntropyLoss', loss_weight=loss_weight)))
    with torch.no_grad():  # S == patch map
        head.conv.weight.copy_(torch.eye(channels)[:, :, None, None])
        head.conv.bias.zero_()
    return head


@pytest.fixture
def fixed_backbone() -> Callable[..., nn.Module]:
    """Factory ``(fmap, attn) -> backbone`` returning those tensors for any input."""
    return _FixedBackbone


@pytest.fixture
def identity_head() -> Callable[..., nn.Module]:
    """Factory ``(channels, loss_weight=1.0) -> ConvCAMHead`` whose maps equal the patch map."""
    return _identity_head
