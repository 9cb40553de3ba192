"""GAP + linear classifier whose weights give the class activation maps."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torchvision

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..backbones.pretrained import load_torchvision_weights
from ..utils.global_mean_pool_function import global_mean_pool
from .base_cam_head import BaseCAMHead


@MODELS.register_module()
class CAMHead(BaseCAMHead):
    """CAM head (Zhou et al. 2016; wsolevaluation ``VggCam``/``ResNetCam``).

    ``logits = fc(GAP(F))``; the map of class ``c`` is the channel mean of ``F``
    weighted by ``fc.weight[c]`` (the scale is irrelevant after min-max).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the last feature map.
        loss (dict): classification loss config. Defaults to CrossEntropyLoss.
        pretrained (str, optional): load ``fc`` from a torchvision classifier
            checkpoint (a local ``.pth`` path or ``'torchvision'``), as
            wsolevaluation does for ResNet50 on ILSVRC (``num_classes=1000``,
            ``in_channels`` equal to the checkpoint's). Defaults to None.
        pretrained_arch (str): torchvision architecture of ``pretrained``.
            Defaults to 'resnet50'.
        init_cfg (dict | list, optional): N(0, 0.01) for the classifier by default
            (skipped when ``pretrained`` is given).

    Examples:
        >>> head = CAMHead(num_classes=3, in_channels=8)
        >>> logits = head((torch.rand(2, 8, 7, 7), ))
        >>> tuple(logits.shape)
        (2, 3)
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 pretrained: Optional[str] = None,
                 pretrained_arch: str = 'resnet50',
                 init_cfg: OptMultiConfig = dict(type='Normal', layer='Linear', std=0.01)):
        super().__init__(num_classes, in_channels, loss=loss, init_cfg=init_cfg)
        self.fc = nn.Linear(in_channels, num_classes)
        if pretrained:
            weights_enum = torchvision.models.get_model_weights(pretrained_arch).__name__
            load_torchvision_weights(self, pretrained, pretrained_arch, weights_enum,
                                     keep_prefixes=('fc.', ), key='model.head.pretrained')
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class logits ``(B, C)`` from the last feature map (its gradient a broadcast
        view: :mod:`~wsol_mm.models.utils.global_mean_pool_function`)."""
        return self.fc(global_mean_pool(feats[-1]))

    def forward_maps(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Logits; maps = the last map weighted by the classifier rows; CAAM = its mean."""
        fmap = feats[-1]

        def select(classes: torch.Tensor) -> torch.Tensor:
            weights = self.fc.weight[classes]  # (B, K, D)
            return torch.einsum('bkd,bdhw->bkhw', weights, fmap) / fmap.shape[1]

        return ClassMapOutput(self(feats), select, lambda: fmap.mean(1, keepdim=True),
                              pixel_feats=fmap)

    def cosine_maps(self, fmap: torch.Tensor) -> torch.Tensor:
        """Cosine similarity ``(B, C, h, w)`` of every pixel feature with every class weight."""
        weight = nn.functional.normalize(self.fc.weight, dim=1)
        return torch.einsum('cd,bdhw->bchw', weight, nn.functional.normalize(fmap, dim=1))
