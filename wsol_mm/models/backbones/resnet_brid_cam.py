"""ResNetCAM split after layer4's first block, for Bridging the gap."""
from typing import Tuple

import torch

from wsol_mm.registry import MODELS

from .resnet_cam import ResNetCAM


@MODELS.register_module()
class ResNetBridCAM(ResNetCAM):
    """:class:`ResNetCAM` that also returns the map after layer4's first block.

    Same layers and parameter names as ``ResNetCAM`` (torchvision and CAM
    checkpoints load unchanged); only the output changes to ``(split map, final
    map)``, and :meth:`forward_tail` runs the remaining layer4 blocks on a
    (dropped) split map. Arguments as :class:`ResNetCAM`.
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(layer4[0] map, layer4 map)``."""
        x = self.run_stem(x)
        for name in ('layer1', 'layer2', 'layer3'):
            x = self._stage(name, x)
        split = self.run_blocks(self.layer4[:1], x)
        return split, self.forward_tail(split)

    def forward_tail(self, split: torch.Tensor) -> torch.Tensor:
        """layer4 blocks 1.. on the split map."""
        return self.run_blocks(self.layer4[1:], split)
