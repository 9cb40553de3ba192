"""Conv head whose last 1x1 conv outputs one map per class (SPG/wsolevaluation Inception)."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils import dropout, init_wsol_weights
from .base_cam_head import BaseCAMHead, select_maps


@MODELS.register_module()
class ConvClassMapHead(BaseCAMHead):
    """Class-map head of wsolevaluation's ``InceptionCam`` (``SPG_A3``/``SPG_A4``).

    ``dropout -> conv3x3 (in->mid) + ReLU -> dropout -> conv3x3 (mid->mid) + ReLU
    -> dropout -> conv1x1 (mid->C)`` gives class maps; logits are their global
    average; the CAM of class ``c`` is map ``c`` itself (no weighting step).
    Convs are Xavier-uniform initialised (biases 0).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the backbone map. Defaults to 768.
        mid_channels (int): channels of the two 3x3 convs. Defaults to 1024.
        dropout (float): dropout probability before each conv (train only).
            Defaults to 0.5.
        loss (dict): classification loss config. Defaults to CrossEntropyLoss.
        init_cfg (dict | list, optional): mmengine init config.

    Examples:
        >>> head = ConvClassMapHead(num_classes=3, in_channels=8, mid_channels=16)
        >>> tuple(head((torch.rand(2, 8, 7, 7), )).shape)
        (2, 3)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 768,
                 mid_channels: int = 1024,
                 dropout: float = 0.5,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, loss=loss, init_cfg=init_cfg)
        self.dropout = dropout
        self.conv1 = nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1)
        self.cls_conv = nn.Conv2d(mid_channels, num_classes, kernel_size=1)
        init_wsol_weights(self, 'xavier')

    def _trunk(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The (dropped-out) map fed to ``cls_conv`` ``(B, mid, h, w)``."""
        x = dropout(feats[-1], self.dropout, self.training)
        x = F.relu(self.conv1(x))
        x = dropout(x, self.dropout, self.training)
        x = F.relu(self.conv2(x))
        return dropout(x, self.dropout, self.training)

    def class_maps(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Raw class maps ``(B, C, h, w)`` (one pass; dropout is random in training)."""
        return self.cls_conv(self._trunk(feats))

    def forward_maps(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """One pass: class maps, their GAP logits, and the input of ``cls_conv`` as the
        pixel features (DA-WSOL's Inception); CAAM = the mean of the class maps."""
        pixels = self._trunk(feats)
        maps = self.cls_conv(pixels)
        return ClassMapOutput(self.logits_from_maps(feats, maps),
                              lambda classes: select_maps(maps, classes),
                              lambda: maps.mean(1, keepdim=True), pixel_feats=pixels)
