"""TS-CAM's Conformer head: transformer class maps plus the CNN branch's linear classifier."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from .conv_cam_head import ConvCAMHead


@MODELS.register_module()
class ConformerCAMHead(ConvCAMHead):
    """``logits = GAP(conv3x3(T)) + fc(GAP(cnn_map))`` (spec §1.7); maps from the first term.

    Args:
        num_classes (int): number of classes.
        in_channels (int): transformer width ``D``.
        cnn_channels (int): channels of the CNN branch's last map (1024 for
            Conformer-S).
        in_index (int): index of the patch map in the feature tuple. Defaults to 0.
        cnn_index (int): index of the CNN map. Defaults to -1.
        loss (dict): classification loss config.
        init_cfg (dict, optional): None keeps PyTorch's default init.
    """

    def __init__(self, num_classes: int, in_channels: int, cnn_channels: int,
                 in_index: int = 0, cnn_index: int = -1,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, in_index=in_index, loss=loss,
                         init_cfg=init_cfg)
        self.cnn_index = cnn_index
        self.fc = nn.Linear(cnn_channels, num_classes)

    def logits_from_pooled(self, feats: Tuple[torch.Tensor, ...],
                           pooled: torch.Tensor) -> torch.Tensor:
        """GAP of the (possibly refined) class maps + the CNN-branch logits."""
        return pooled + self.fc(feats[self.cnn_index].mean(dim=(2, 3)))
