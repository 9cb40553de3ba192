"""Shared pieces of the CAM heads: constructor checks, classification loss, class maps."""
from typing import List, Tuple

import torch
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, WSOLDataSample
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig


def select_maps(maps: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Gather ``(B, K, h, w)`` from ``maps (B, C, h, w)`` at ``classes (B, K)``."""
    index = classes.to(maps.device)[:, :, None, None].expand(-1, -1, *maps.shape[-2:])
    return maps.gather(1, index)


class BaseCAMHead(BaseModule):
    """Base of the heads: logits and class maps of one pass, and the classification loss.

    The default implementation serves heads with ``class_maps(feats) -> (B, C, h, w)``
    (the CAM of class ``c`` is map ``c``; logits are ``logits_from_maps``, the GAP by
    default; the class-agnostic map is the mean of the class maps). Heads whose maps
    come another way (``CAMHead``) override ``forward`` and ``forward_maps``.

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature map.
        loss (dict): classification loss config.
        init_cfg (dict | list, optional): mmengine init config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_module = MODELS.build(loss)

    def class_maps(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class maps ``(B, C, h, w)`` (heads whose CAM is a class-map channel)."""
        raise NotImplementedError(f'{type(self).__name__} has no class_maps')

    def logits_from_maps(self, feats: Tuple[torch.Tensor, ...],
                         maps: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)`` from (possibly refined) class maps: their GAP."""
        return maps.mean(dim=(2, 3))

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class logits ``(B, C)``."""
        return self.forward_maps(feats).logits

    def forward_maps(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Logits and class maps from ONE pass (one dropout mask for both)."""
        maps = self.class_maps(feats)
        return ClassMapOutput(self.logits_from_maps(feats, maps),
                              lambda classes: select_maps(maps, classes),
                              lambda: maps.mean(1, keepdim=True))

    def loss(self, feats: Tuple[torch.Tensor, ...],
             data_samples: List[WSOLDataSample]) -> dict:
        """Classification loss of the image-level labels."""
        return self.loss_by_logits(self(feats), data_samples)

    def loss_by_logits(self, logits: torch.Tensor,
                       data_samples: List[WSOLDataSample]) -> dict:
        """``{'loss_cls': ...}`` of given logits (methods may refine the maps first), against
        ``gt_label``, or the soft ``gt_score`` a batch augment (CutMix) gave every sample."""
        if data_samples and all('gt_score' in s for s in data_samples):
            target = torch.stack([s.gt_score for s in data_samples]).to(logits.device)
        else:
            target = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
        return dict(loss_cls=self.loss_module(logits, target))
