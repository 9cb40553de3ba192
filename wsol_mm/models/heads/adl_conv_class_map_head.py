"""The class-map head of wsolevaluation's ``InceptionAdl``: ADL before the 1x1 conv."""
from typing import Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..layers import AttentionBasedDropout
from .conv_class_map_head import ConvClassMapHead


@MODELS.register_module()
class ADLConvClassMapHead(ConvClassMapHead):
    """:class:`ConvClassMapHead` with an ADL after the second 3x3 conv (+ReLU).

    wsolevaluation's ``InceptionAdl`` head is ``conv3x3 + ReLU -> conv3x3 + ReLU ->
    ADL -> conv1x1``, without the CAM model's dropouts: hence ``dropout`` defaults to
    0 here (any other value inserts the dropouts of :class:`ConvClassMapHead` before
    the ADL). The parameters and their names are those of :class:`ConvClassMapHead`,
    so checkpoints are interchangeable. In eval mode the head equals
    ``ConvClassMapHead(dropout=0)``.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the backbone map. Defaults to 768.
        mid_channels (int): channels of the two 3x3 convs. Defaults to 1024.
        dropout (float): dropout before each conv. Defaults to 0 (as released).
        adl (dict): :class:`AttentionBasedDropout` arguments. Defaults to the
            wsolevaluation values ``drop_rate=0.75, drop_threshold=0.9``.
        loss (dict): classification loss config. Defaults to CrossEntropyLoss.
        init_cfg (dict | list, optional): mmengine init config.

    Examples:
        >>> head = ADLConvClassMapHead(num_classes=3, in_channels=8, mid_channels=16)
        >>> tuple(head((torch.rand(2, 8, 7, 7), )).shape)
        (2, 3)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int = 768,
                 mid_channels: int = 1024,
                 dropout: float = 0.0,
                 adl: dict = dict(drop_rate=0.75, drop_threshold=0.9),
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, mid_channels, dropout, loss, init_cfg)
        self.adl = AttentionBasedDropout(**adl)

    def _trunk(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The map fed to ``cls_conv``: the conv trunk, then ADL (identity in eval)."""
        return self.adl(super()._trunk(feats))
