"""A 1x1 conv that outputs one map per class (wsolevaluation ``ResNetSpg``'s ``SPG_A4``)."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils import init_wsol_weights
from .base_cam_head import BaseCAMHead, select_maps


@MODELS.register_module()
class Conv1x1ClassMapHead(BaseCAMHead):
    """Class maps = a 1x1 conv of the feature map; logits = their global average.

    The CAM of class ``c`` is map ``c`` itself (SPG's CAM). The pixel features are the
    input map (SPG's ``SPG_C`` branch reads them). Xavier-uniform init (biases 0), as
    wsolevaluation's SPG networks.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the feature map (2048 for ResNet50).
        loss (dict): classification loss config. Defaults to CrossEntropyLoss.
        init_cfg (dict | list, optional): mmengine init config.

    Examples:
        >>> head = Conv1x1ClassMapHead(num_classes=3, in_channels=8)
        >>> tuple(head((torch.rand(2, 8, 7, 7), )).shape)
        (2, 3)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, loss=loss, init_cfg=init_cfg)
        self.cls_conv = nn.Conv2d(in_channels, num_classes, kernel_size=1)
        init_wsol_weights(self, 'xavier')

    def class_maps(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Raw class maps ``(B, C, h, w)``."""
        return self.cls_conv(feats[-1])

    def forward_maps(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Class maps, their GAP logits; pixel features = the input map."""
        maps = self.cls_conv(feats[-1])
        return ClassMapOutput(self.logits_from_maps(feats, maps),
                              lambda classes: select_maps(maps, classes),
                              lambda: maps.mean(1, keepdim=True), pixel_feats=feats[-1])
