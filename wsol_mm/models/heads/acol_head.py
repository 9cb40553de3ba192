"""ACoL's two classifier branches (Zhang et al., CVPR 2018; wsolevaluation ``AcolBase``)."""
from contextlib import nullcontext
from typing import Optional, Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils import init_wsol_weights
from ..utils.normalize_tensor import normalize_tensor
from .base_cam_head import BaseCAMHead, select_maps


def _branch(in_channels: int, mid_channels: int, num_classes: int) -> nn.Sequential:
    """conv3x3 + ReLU, conv3x3 + ReLU, conv1x1 -> class maps (the released classifier_X)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1), nn.ReLU(inplace=False),
        nn.Conv2d(mid_channels, mid_channels, kernel_size=3, padding=1), nn.ReLU(inplace=False),
        nn.Conv2d(mid_channels, num_classes, kernel_size=1))


@MODELS.register_module()
class ACoLHead(BaseCAMHead):
    """Adversarial complementary learning head: classifier A, erasure, classifier B.

    As wsolevaluation's ``AcolBase``: branch A (``classifier_A``) turns the feature map
    ``F`` into class maps ``A``; logits are their global average. For a class ``c``
    the attention is ``A[c]`` (detached) min-max normalised per image; ``F`` is zeroed
    where it is ``>= drop_threshold`` and branch B (``classifier_B``) gives class maps
    ``B_c`` of the erased features. The released CAM of class ``c`` is
    ``max(norm(A[c]), norm(B_c[c]))`` (per-map min-max of each branch, element-wise
    max), so B runs once per requested class. Training (``forward_train_maps``) erases
    with the GT class and returns B's logits for ACoL's second cross-entropy (the
    :class:`ACoLLocalizer` term ``loss_acol_erased``). The class-agnostic map is the
    mean of A's class maps (B needs a class).

    Args:
        num_classes (int): number of classes.
        in_channels (int): channels of the feature map (2048 ResNet50, 512 VGG16,
            768 InceptionV3).
        mid_channels (int): channels of the two 3x3 convs of each branch. Defaults to
            1024 (released).
        drop_threshold (float): erasure threshold on the normalised attention
            (``acol_threshold``). Defaults to 0.7.
        init_mode (str): conv init, ``'he'`` (released ResNet50) or ``'xavier'``
            (released VGG16 / InceptionV3). Defaults to 'xavier'.
        loss (dict): classification loss of both branches. Defaults to CrossEntropyLoss.
        init_cfg (dict | list, optional): mmengine init config.

    Examples:
        >>> head = ACoLHead(num_classes=3, in_channels=8, mid_channels=16)
        >>> out = head.forward_maps((torch.rand(2, 8, 7, 7), ))
        >>> tuple(out.logits.shape), tuple(out.maps(torch.tensor([0, 2])).shape)
        ((2, 3), (2, 1, 7, 7))
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 mid_channels: int = 1024,
                 drop_threshold: float = 0.7,
                 init_mode: str = 'xavier',
                 loss: ConfigType = dict(type='CrossEntropyLoss'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(num_classes, in_channels, loss=loss, init_cfg=init_cfg)
        if not 0 <= drop_threshold <= 1:
            raise ValueError(f'ACoLHead: drop_threshold must be in [0, 1], got {drop_threshold} '
                             '(key `model.head.drop_threshold`)')
        self.drop_threshold = drop_threshold
        self.classifier_A = _branch(in_channels, mid_channels, num_classes)
        self.classifier_B = _branch(in_channels, mid_channels, num_classes)
        init_wsol_weights(self, init_mode)

    def extra_repr(self) -> str:
        return f'drop_threshold={self.drop_threshold}'

    def erase(self, feature: torch.Tensor, maps_a: torch.Tensor,
              classes: torch.Tensor) -> torch.Tensor:
        """``feature`` zeroed where the normalised ``maps_a`` of ``classes (B,)`` >= threshold.

        The attention is detached; a constant map (NaN after normalisation) erases
        nothing, as released.
        """
        attention = normalize_tensor(select_maps(maps_a.detach(), classes.view(-1, 1)))
        erased = attention >= self.drop_threshold  # (B, 1, h, w)
        return feature * (~erased).to(feature.dtype)

    def _output(self, feature: torch.Tensor, maps_a: torch.Tensor,
                known: Optional[Tuple[torch.Tensor, torch.Tensor]] = None) -> ClassMapOutput:
        """Logits of A and the released CAM of any class; ``known = (classes, B maps)``
        reuses a branch-B pass already made for those classes (training, GT)."""
        # Branch B runs when a map is asked for, possibly inside a float32 region (crop
        # consistency, post-processing): it runs under the autocast state of this pass.
        device = feature.device.type
        amp = torch.amp.is_autocast_available(device) and torch.is_autocast_enabled(device)
        amp_dtype = torch.get_autocast_dtype(device) if amp else None

        def cam_of(classes: torch.Tensor) -> torch.Tensor:
            if known is not None and torch.equal(classes, known[0]):
                maps_b = known[1]
            else:
                with torch.autocast(device, dtype=amp_dtype) if amp else nullcontext():
                    maps_b = self.classifier_B(self.erase(feature, maps_a, classes))
            index = classes.view(-1, 1)
            return torch.maximum(normalize_tensor(select_maps(maps_a, index)),
                                 normalize_tensor(select_maps(maps_b, index)))

        def select(classes: torch.Tensor) -> torch.Tensor:
            return torch.cat([cam_of(classes[:, k]) for k in range(classes.shape[1])], dim=1)

        return ClassMapOutput(maps_a.mean(dim=(2, 3)), select,
                              lambda: maps_a.mean(1, keepdim=True))

    def forward_maps(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Branch A once; branch B per requested class (inference, any class)."""
        feature = feats[-1]
        return self._output(feature, self.classifier_A(feature))

    def forward_train_maps(self, feats: Tuple[torch.Tensor, ...],
                           labels: torch.Tensor) -> Tuple[ClassMapOutput, torch.Tensor]:
        """One training pass: the maps (as ``forward_maps``) and branch B's logits
        ``(B, C)`` on the features erased by the GT classes ``labels``."""
        feature = feats[-1]
        maps_a = self.classifier_A(feature)
        labels = labels.to(feature.device)
        maps_b = self.classifier_B(self.erase(feature, maps_a, labels))
        return self._output(feature, maps_a, (labels, maps_b)), maps_b.mean(dim=(2, 3))
