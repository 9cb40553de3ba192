"""Building blocks of Conformer (Peng et al., ICCV 2021): bottlenecks and the two couplers.

Sub-module names follow the official release so its checkpoints load unchanged.
"""
from functools import partial
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

_BN = partial(nn.BatchNorm2d, eps=1e-6)
_LN = partial(nn.LayerNorm, eps=1e-6)


class ConformerBottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 bottleneck; the 3x3 input may receive the transformer feature.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels (inner width is a quarter).
        stride (int): stride of the 3x3 conv (and of the shortcut).
        res_conv (bool): projection shortcut (1x1 conv + BN).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 res_conv: bool = False) -> None:
        super().__init__()
        mid = out_channels // 4
        self.conv1 = nn.Conv2d(in_channels, mid, 1, bias=False)
        self.bn1 = _BN(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, bias=False)
        self.bn2 = _BN(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, bias=False)
        self.bn3 = _BN(out_channels)
        self.res_conv = res_conv
        if res_conv:
            self.residual_conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride,
                                           bias=False)
            self.residual_bn = _BN(out_channels)

    def forward(self, x: torch.Tensor,
                injected: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return the block output and the inner 3x3 activation (for the down coupler)."""
        mid = F.relu(self.bn1(self.conv1(x)))
        if injected is not None:
            mid = mid + injected
        mid = F.relu(self.bn2(self.conv2(mid)))
        out = self.bn3(self.conv3(mid))
        shortcut = self.residual_bn(self.residual_conv(x)) if self.res_conv else x
        return F.relu(out + shortcut), mid


class FeatureCouplingDown(nn.Module):
    """CNN map -> tokens: 1x1 conv, average pool to the patch grid, LN, GELU (+ cls token)."""

    def __init__(self, in_channels: int, embed_dim: int, stride: int) -> None:
        super().__init__()
        self.conv_project = nn.Conv2d(in_channels, embed_dim, 1)
        self.sample_pooling = nn.AvgPool2d(stride, stride)
        self.ln = _LN(embed_dim)

    def forward(self, x: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        x = self.sample_pooling(self.conv_project(x)).flatten(2).transpose(1, 2)
        return torch.cat([tokens[:, :1], F.gelu(self.ln(x))], dim=1)


class FeatureCouplingUp(nn.Module):
    """Tokens -> CNN map: 1x1 conv, BN, ReLU, nearest upsampling by ``stride``."""

    def __init__(self, embed_dim: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.conv_project = nn.Conv2d(embed_dim, out_channels, 1)
        self.bn = _BN(out_channels)

    def forward(self, tokens: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        b, _, d = tokens.shape
        x = tokens[:, 1:].transpose(1, 2).reshape(b, d, *grid)
        x = F.relu(self.bn(self.conv_project(x)))
        return F.interpolate(x, size=(grid[0] * self.stride, grid[1] * self.stride))


class ConvTransBlock(nn.Module):
    """One Conformer stage unit: CNN bottleneck, coupler down, transformer block,
    coupler up, fusion bottleneck.

    Args:
        in_channels (int): CNN input channels.
        out_channels (int): CNN output channels.
        res_conv (bool): projection shortcut in the CNN bottleneck.
        stride (int): CNN stride.
        dw_stride (int): CNN-map to patch-grid ratio.
        trans_block (nn.Module): the transformer block (timm ``Block``).
        last_fusion (bool): the fusion bottleneck downsamples by 2 (last unit).
    """

    def __init__(self, in_channels: int, out_channels: int, res_conv: bool, stride: int,
                 dw_stride: int, trans_block: nn.Module, last_fusion: bool = False) -> None:
        super().__init__()
        embed_dim = trans_block.norm1.normalized_shape[0]
        self.cnn_block = ConformerBottleneck(in_channels, out_channels, stride, res_conv)
        self.fusion_block = ConformerBottleneck(out_channels, out_channels,
                                                2 if last_fusion else 1, last_fusion)
        self.squeeze_block = FeatureCouplingDown(out_channels // 4, embed_dim, dw_stride)
        self.expand_block = FeatureCouplingUp(embed_dim, out_channels // 4, dw_stride)
        self.trans_block = trans_block
        self.dw_stride = dw_stride
