"""Min-max normalisation (wsolevaluation's ``normalize_scoremap``)."""
import torch

from wsol_mm.registry import MODELS

from .base_cam_norm import BaseCAMNorm


@MODELS.register_module(name=['MinMaxNorm', 'MinMax'])
class MinMaxNorm(BaseCAMNorm):
    """``(x - min) / (max - min)`` per map; constant or non-finite maps become zeros.

    The default of every localizer's ``test_cfg.norm``. Both flavours are identical.

    Examples:
        >>> MinMaxNorm()(torch.tensor([[1., 3.], [2., 5.]]))
        tensor([[0.0000, 0.5000],
                [0.2500, 1.0000]])
    """

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, low, high, valid = self._flatten(maps)
        out = torch.where(valid, (flat - low) / (high - low).clamp_min(1e-12),
                          torch.zeros_like(flat))
        return out.view(maps.shape)

    def train_norm(self, maps: torch.Tensor) -> torch.Tensor:
        return self(maps)
