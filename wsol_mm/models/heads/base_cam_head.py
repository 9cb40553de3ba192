"""Shared pieces of the CAM heads: constructor checks, classification loss, prediction."""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils import pack_cam_predictions


def select_maps(maps: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """Gather ``(B, K, h, w)`` from ``maps (B, C, h, w)`` at ``classes (B, K)``."""
    index = classes.to(maps.device)[:, :, None, None].expand(-1, -1, *maps.shape[-2:])
    return maps.gather(1, index)


class BaseCAMHead(BaseModule):
    """Base of the heads whose CAMs come from class maps.

    The default implementation serves heads with ``class_maps(feats) -> (B, C, h, w)``
    (the CAM of class ``c`` is map ``c``; logits are ``logits_from_maps``, the GAP by
    default). Heads whose maps come another way (``CAMHead``) override ``forward``,
    ``get_cams``, ``get_logits_and_cams`` and ``_logits_and_cam_fn``, and must not
    define ``class_maps`` (crop consistency checks for it).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the input feature map.
        loss (dict): classification loss config.
        init_cfg (dict | list, optional): mmengine init config.
    """

    #: Default ``interpolation`` of ``predict`` (the localizers always pass theirs).
    default_interpolation = 'bicubic'

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

    def logits_from_maps(self, feats: Tuple[torch.Tensor, ...],
                         maps: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, C)`` from (possibly refined) class maps: their GAP."""
        return maps.mean(dim=(2, 3))

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Class logits ``(B, C)`` = ``logits_from_maps`` of the class maps."""
        return self.logits_from_maps(feats, self.class_maps(feats))

    def get_cams(self, feats: Tuple[torch.Tensor, ...], classes: torch.Tensor) -> torch.Tensor:
        """Raw class maps ``(B, K, h, w)`` for class indices ``(B, K)``."""
        return select_maps(self.class_maps(feats), classes)

    def get_logits_and_cams(self, feats: Tuple[torch.Tensor, ...],
                            classes: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Logits and the maps of ``classes`` from ONE pass (same dropout masks)."""
        maps = self.class_maps(feats)
        return self.logits_from_maps(feats, maps), select_maps(maps, classes)

    def _logits_and_cam_fn(
        self, feats: Tuple[torch.Tensor, ...]
    ) -> Tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
        """Logits and ``classes (B, K) -> raw maps (B, K, h, w)`` of one pass."""
        maps = self.class_maps(feats)
        return self.logits_from_maps(feats, maps), lambda cls: select_maps(maps, cls)

    def loss(self, feats: Tuple[torch.Tensor, ...],
             data_samples: List[WSOLDataSample]) -> dict:
        """Classification loss of the image-level labels."""
        return self.loss_by_logits(self(feats), data_samples)

    def loss_by_logits(self, logits: torch.Tensor,
                       data_samples: List[WSOLDataSample]) -> dict:
        """Classification loss of given logits (for methods that refine the maps first)."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
        return dict(loss_cls=self.loss_module(logits, labels))

    def predict(self, feats: Tuple[torch.Tensor, ...],
                data_samples: Optional[Sequence[WSOLDataSample]] = None,
                topk_cams: int = 5,
                interpolation: Optional[str] = None) -> List[WSOLDataSample]:
        """Scores, labels and normalised maps at ``img_shape`` (see ``pack_cam_predictions``).

        Args:
            feats (tuple[Tensor]): backbone (and neck) features.
            data_samples (list, optional): the batch's samples.
            topk_cams (int): maps of the top-k predicted classes. Defaults to 5.
            interpolation (str, optional): resize mode; None = the head's
                ``default_interpolation``.
        """
        logits, cam_fn = self._logits_and_cam_fn(feats)
        return pack_cam_predictions(logits, cam_fn, data_samples, topk_cams,
                                    interpolation or self.default_interpolation)
