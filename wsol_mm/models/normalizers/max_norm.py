"""Max normalisation of Small Object Matters (``--norm_method max``)."""
import torch

from wsol_mm.registry import MODELS

from .base_cam_norm import BaseCAMNorm, safe_div


@MODELS.register_module(name=['MaxNorm', 'Max'])
class MaxNorm(BaseCAMNorm):
    """``relu(x) / max(x)`` per map (zeros for constant, non-finite or non-positive maps).

    Examples:
        >>> MaxNorm()(torch.tensor([[-1., 2.], [1., 4.]]))
        tensor([[0.0000, 0.5000],
                [0.2500, 1.0000]])
    """

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, _, _, valid = self._flatten(maps)
        flat = flat.clamp_min(0)
        den = flat.amax(-1, keepdim=True)
        return safe_div(flat, den, valid & (den > 0)).view(maps.shape)

    def train_norm(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, _, high, valid = self._flatten(maps)
        return safe_div(flat.clamp_min(0), high, valid & (high > 0)).view(maps.shape)
