"""InceptionV3CAM that also returns the maps SPG's auxiliary branches read."""
from typing import Tuple

import torch

from wsol_mm.registry import MODELS

from ..utils import max_pool2d_recomputed
from .inception_v3_cam import InceptionV3CAM


@MODELS.register_module()
class InceptionV3SPGCAM(InceptionV3CAM):
    """:class:`InceptionV3CAM` returning ``(Mixed_5d map, Mixed_6d map, Mixed_6e map)``.

    As wsolevaluation's ``InceptionSpg``: branch B1 reads the Mixed_5d output after the
    optional extra pool (288 channels), branch B2 the Mixed_6d output (768 channels, the
    input of Mixed_6e, as released), the head the Mixed_6e output. Same layers and
    parameter names as ``InceptionV3CAM``; arguments as it.

    Examples:
        >>> m = InceptionV3SPGCAM()
        >>> [tuple(f.shape[1:]) for f in m(torch.rand(1, 3, 224, 224))]
        [(288, 14, 14), (768, 14, 14), (768, 14, 14)]
    """

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(B1 input, B2 input, Mixed_6e map)``."""
        x = self.run_stem(x)
        b1 = self.run_block('Mixed_5d', self.run_block('Mixed_5c', self.run_block('Mixed_5b', x)))
        if not self.large_feature_map:
            b1 = max_pool2d_recomputed(b1, 3, 2, ceil_mode=True)
        b2 = self.Mixed_6a(b1)
        for name in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d'):
            b2 = self.run_block(name, b2)
        return b1, b2, self.run_block('Mixed_6e', b2)
