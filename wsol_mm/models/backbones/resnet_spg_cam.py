"""ResNetCAM that also returns the maps SPG's auxiliary branches read."""
from typing import Tuple

import torch

from wsol_mm.registry import MODELS

from .resnet_cam import ResNetCAM


@MODELS.register_module()
class ResNetSPGCAM(ResNetCAM):
    """:class:`ResNetCAM` returning ``(layer3[0] map, layer3 map, layer4 map)``.

    wsolevaluation's ``ResNetSpg`` splits layer3 into ``SPG_A1`` (its first block) and
    ``SPG_A2`` (the rest); SPG's branch B1 reads the first, B2 the second (the
    :class:`SPG` method component). The layers and parameter names are ``ResNetCAM``'s
    (torchvision weights load unchanged; the converter renames ``SPG_A1``/``SPG_A2``).
    Arguments as :class:`ResNetCAM`.

    Examples:
        >>> m = ResNetSPGCAM(depth=18)
        >>> [tuple(f.shape[1:]) for f in m(torch.rand(1, 3, 64, 64))]
        [(256, 4, 4), (256, 4, 4), (512, 4, 4)]
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(SPG_A1 map, SPG_A2 map, layer4 map)``."""
        x = self._stage('layer2', self._stage('layer1', self.run_stem(x)))
        b1 = self.run_blocks(self.layer3[:1], x)
        b2 = self.run_blocks(self.layer3[1:], b1)
        return b1, b2, self._stage('layer4', b2)
