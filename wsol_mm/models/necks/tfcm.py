"""TFCM: the token feature contrast module of LCA-MD (training only)."""
from typing import Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import OptMultiConfig


@MODELS.register_module()
class TFCM(BaseModule):
    """Soft foreground / background pooling of the projected class map.

    LCA-MD's adaptation of CCAM's disentangler: ``S' = conv3x3(S)`` (C -> C) and,
    with ``a`` the raw cls-attention summed over the layers (not normalised, so
    ``1 - a`` may be negative on strongly attended patches, as released)::

        f_fg = mean_n a_n S'_n        f_bg = mean_n (1 - a_n) S'_n

    The pair feeds the CCAM ``SimMaxLoss`` (fg and bg) and ``SimMinLoss`` (bg vs fg).
    The released code hard-codes 200 channels (CUB only); here it is ``num_classes``.
    Its two unused layers (a 1 -> 1 conv and a BatchNorm) are not rebuilt.

    Args:
        num_classes (int): channels of the class map.
        init_cfg (dict, optional): mmengine init config (PyTorch default conv init
            as released when None).

    Examples:
        >>> tfcm = TFCM(num_classes=3)
        >>> fg, bg = tfcm(torch.rand(2, 3, 4, 4), torch.rand(2, 16))
        >>> tuple(fg.shape), tuple(bg.shape)
        ((2, 3), (2, 3))
    """

    def __init__(self, num_classes: int, init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'TFCM: num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.conv = nn.Conv2d(num_classes, num_classes, kernel_size=3, padding=1)

    def forward(self, class_map: torch.Tensor,
                attention: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Foreground and background features ``(B, C)`` each.

        Args:
            class_map (Tensor): ``(B, C, h, w)`` semantic map of the conv head.
            attention (Tensor): ``(B, h*w)`` or ``(B, h, w)`` raw summed cls-attention.
        """
        if class_map.shape[1] != self.num_classes:
            raise ValueError(f'TFCM: class map has {class_map.shape[1]} channels, '
                             f'num_classes={self.num_classes}')
        proj = self.conv(class_map).flatten(2)  # (B, C, N)
        weight = attention.reshape(proj.shape[0], 1, -1).to(proj.dtype)
        if weight.shape[-1] != proj.shape[-1]:
            raise ValueError(f'TFCM: attention has {weight.shape[-1]} patches, class map '
                             f'{proj.shape[-1]}')
        return (proj * weight).mean(dim=-1), (proj * (1 - weight)).mean(dim=-1)
