"""VGG16CAM split after conv4_3, for Bridging the gap."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS

from .vgg16_cam import VGG16CAM

_SPLIT_AFTER_CONV = 10  # conv4_3 is VGG16's 10th conv


@MODELS.register_module()
class VGG16BridCAM(VGG16CAM):
    """:class:`VGG16CAM` that also returns the conv4_3 (+ReLU) map.

    Same layers and parameter names as ``VGG16CAM``; the output is ``(conv4_3
    map, conv6 map)`` and :meth:`forward_tail` runs pool4 (14x14 variant),
    conv5_* and conv6 on a (dropped) split map, as the released ``VggBrid``.
    Arguments as :class:`VGG16CAM`.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        convs = [i for i, m in enumerate(self.features) if isinstance(m, nn.Conv2d)]
        self.split_index = convs[_SPLIT_AFTER_CONV - 1] + 2  # after its ReLU

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(conv4_3 map, conv6 map)``."""
        split = self.run_features(x, self.split_index)
        return split, self.forward_tail(split)

    def forward_tail(self, split: torch.Tensor) -> torch.Tensor:
        """pool4 / conv5_* / conv6 + ReLU on the split map."""
        return self.relu(self.conv6(self.features[self.split_index:](split)))
