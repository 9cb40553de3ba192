"""PaS normalisation of Small Object Matters (``--norm_method pas``)."""
import torch

from wsol_mm.registry import MODELS

from .base_cam_norm import BaseCAMNorm, safe_div


@MODELS.register_module(name=['PaSNorm', 'PaS'])
class PaSNorm(BaseCAMNorm):
    """``(x - min) / q(x - min)``, clipped at 1, with ``q`` the ``quantile`` of the map.

    ``forward`` (released ``normalize_scoremap``) reads ``q`` at sorted index
    ``floor(quantile * N)`` of the min-shifted map; ``train_norm`` (released
    ``normalize_tensor``) divides by ``torch.quantile(x, quantile, 'nearest')`` of the
    raw map.

    Args:
        quantile (float): Defaults to 0.9 (as released).

    Examples:
        >>> PaSNorm()(torch.arange(10.).view(2, 5))
        tensor([[0.0000, 0.1111, 0.2222, 0.3333, 0.4444],
                [0.5556, 0.6667, 0.7778, 0.8889, 1.0000]])
    """

    def __init__(self, quantile: float = 0.9) -> None:
        super().__init__()
        if not 0 <= quantile <= 1:
            raise ValueError(f'PaSNorm: quantile must be in [0, 1], got {quantile} '
                             '(key `test_cfg.norm.quantile`)')
        self.quantile = quantile

    def extra_repr(self) -> str:
        return f'quantile={self.quantile}'

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, low, _, valid = self._flatten(maps)
        n = flat.shape[-1]
        flat = flat - low
        den = flat.sort(-1).values[..., min(int(n * self.quantile), n - 1)].unsqueeze(-1)
        return safe_div(flat, den, valid & (den > 0)).clamp_max(1.0).view(maps.shape)

    def train_norm(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, low, _, valid = self._flatten(maps)
        q = torch.quantile(flat, self.quantile, dim=-1, keepdim=True, interpolation='nearest')
        return safe_div(flat - low, q, valid & (q > 0)).clamp_max(1.0).view(maps.shape)
