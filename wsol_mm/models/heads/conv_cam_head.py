"""TS-CAM's class head: a 3x3 convolution to class maps, then global average pooling."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils import pack_cam_predictions


@MODELS.register_module()
class ConvCAMHead(BaseModule):
    """``S = conv3x3(T)`` (the semantic-aware map), ``logits = GAP(S)`` (TS-CAM §1.2).

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
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.in_index = in_index
        self.conv = nn.Conv2d(in_channels, num_classes, kernel_size, padding=kernel_size // 2)
        self.loss_module = MODELS.build(loss)

    def class_maps(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Semantic-aware maps ``S`` of every class, ``(B, C, h, w)``."""
        return self.conv(feats[self.in_index])

    def logits_from_maps(self, feats: Tuple[torch.Tensor, ...],
                         maps: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)`` from (possibly refined) class maps: their GAP.

        Subclasses add other branches (``ConformerCAMHead``: the CNN classifier).
        """
        return maps.mean(dim=(2, 3))

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class logits ``(B, C)`` = GAP of the class maps."""
        return self.logits_from_maps(feats, self.class_maps(feats))

    def get_cams(self, feats: Tuple[torch.Tensor, ...], classes: torch.Tensor) -> torch.Tensor:
        """Class maps (before GAP) ``(B, K, h, w)`` for class indices ``(B, K)``."""
        return select_maps(self.class_maps(feats), classes)

    def loss(self, feats: Tuple[torch.Tensor, ...],
             data_samples: List[WSOLDataSample]) -> dict:
        """Cross-entropy of the GAP logits."""
        return self.loss_by_logits(self(feats), data_samples)

    def loss_by_logits(self, logits: torch.Tensor,
                       data_samples: List[WSOLDataSample]) -> dict:
        """Classification loss of given logits (for methods that refine ``S`` first)."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
        return dict(loss_cls=self.loss_module(logits, labels))

    def predict(self, feats: Tuple[torch.Tensor, ...],
                data_samples: Optional[Sequence[WSOLDataSample]] = None,
                topk_cams: int = 5, interpolation: str = 'bilinear') -> List[WSOLDataSample]:
        """Scores, labels and the plain class maps (no attention; see ``TSCAMLocalizer``)."""
        maps = self.class_maps(feats)
        return pack_cam_predictions(self.logits_from_maps(feats, maps),
                                    lambda cls: select_maps(maps, cls),
                                    data_samples, topk_cams, interpolation)


def select_maps(maps: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Gather ``(B, K, h, w)`` from ``maps (B, C, h, w)`` at ``classes (B, K)``."""
    index = classes[:, :, None, None].expand(-1, -1, *maps.shape[-2:])
    return maps.gather(1, index)
