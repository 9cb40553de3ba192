"""TS-CAM's class head: a 3x3 convolution to class maps, then global average pooling."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils.pooled_conv import pooled_conv, pooled_conv_supported
from .base_cam_head import BaseCAMHead, select_maps

__all__ = ['ConvCAMHead', 'select_maps']


@MODELS.register_module()
class ConvCAMHead(BaseCAMHead):
    """``S = conv3x3(T)`` (the semantic-aware map), ``logits = GAP(S)`` (TS-CAM §1.2).

    Logits are ``logits_from_maps`` (GAP; ``ConformerCAMHead`` adds its CNN
    branch; ``logits_from_feats`` gives the same without forming the maps); the map
    of class ``c`` is ``S_c`` (``TSCAMLocalizer`` multiplies it by the attention).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels ``D`` of the patch map.
        kernel_size (int): conv kernel (padding keeps the size). Defaults to 3.
        in_index (int): which element of the feature tuple is the patch map
            (a ViT backbone returns ``(patch_map, cls_attn)``). Defaults to 0.
        loss (dict): classification loss config. Defaults to CrossEntropyLoss.
        init_cfg (dict | list, optional): None keeps PyTorch's default conv
            init, as the released TS-CAM code does.

    Examples:
        >>> head = ConvCAMHead(num_classes=5, in_channels=8)
        >>> tuple(head((torch.rand(2, 8, 14, 14), )).shape)
        (2, 5)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 kernel_size: int = 3,
                 in_index: int = 0,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, loss=loss, init_cfg=init_cfg)
        self.in_index = in_index
        self.conv = nn.Conv2d(in_channels, num_classes, kernel_size, padding=kernel_size // 2)

    def class_maps(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Semantic-aware maps ``S`` of every class, ``(B, C, h, w)``."""
        return self.conv(feats[self.in_index])

    def logits_from_maps(self, feats: Tuple[torch.Tensor, ...],
                         maps: torch.Tensor) -> torch.Tensor:
        """Logits of (possibly refined) class maps: ``logits_from_pooled`` of their GAP."""
        return self.logits_from_pooled(feats, maps.mean(dim=(2, 3)))

    def logits_from_pooled(self, feats: Tuple[torch.Tensor, ...],
                           pooled: torch.Tensor) -> torch.Tensor:
        """Logits from the GAP ``(B, C)`` of the class maps (the GAP itself here)."""
        return pooled

    def logits_from_feats(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """``logits_from_maps(feats, class_maps(feats))`` without forming the maps.

        The GAP of a convolution is linear in its input: with zero padding it equals
        the kernel applied to the sums of the input over the ``k x k`` shifted output
        windows, divided by ``h * w``. Same value up to rounding, ~100x fewer
        operations than the ``C x D x k^2`` convolution at every cell (TS-CAM's head is
        ~3 % of a DeiT-S step) when nothing else needs the maps.
        """
        if not pooled_conv_supported(self.conv):
            return self.logits_from_maps(feats, self.class_maps(feats))
        pooled = pooled_conv(self.conv, feats[self.in_index])
        return self.logits_from_pooled(feats, pooled)
