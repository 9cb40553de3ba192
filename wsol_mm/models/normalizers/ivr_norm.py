"""IVR normalisation (Kim et al., ICCV 2021) as used by Small Object Matters."""
import torch

from wsol_mm.registry import MODELS

from .base_cam_norm import BaseCAMNorm, safe_div


@MODELS.register_module(name=['IVRNorm', 'IVR'])
class IVRNorm(BaseCAMNorm):
    """``relu(x - q)`` rescaled, with ``q`` the ``percentile`` of the map.

    ``forward`` (released ``normalize_scoremap``): ``q`` at sorted index
    ``floor(percentile * N)``, divided by the new maximum (peak 1). ``train_norm``
    (released ``normalize_tensor``): ``q = torch.quantile(x, percentile, 'nearest')``,
    divided by the ORIGINAL maximum (peak ``(max - q) / max``).

    Args:
        percentile (float): Defaults to 0.6 (Small Object Matters' default; its
            ImageNet scripts use 0.3 / 0.2 / 0.4 for ResNet50 / VGG16 / InceptionV3).

    Examples:
        >>> IVRNorm(percentile=0.5)(torch.arange(8.).view(2, 4))
        tensor([[0.0000, 0.0000, 0.0000, 0.0000],
                [0.0000, 0.3333, 0.6667, 1.0000]])
    """

    def __init__(self, percentile: float = 0.6) -> None:
        super().__init__()
        if not 0 <= percentile <= 1:
            raise ValueError(f'IVRNorm: percentile must be in [0, 1], got {percentile} '
                             '(key `test_cfg.norm.percentile`)')
        self.percentile = percentile

    def extra_repr(self) -> str:
        return f'percentile={self.percentile}'

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, _, _, valid = self._flatten(maps)
        n = flat.shape[-1]
        q = flat.sort(-1).values[..., min(int(n * self.percentile), n - 1)].unsqueeze(-1)
        flat = (flat - q).clamp_min(0)
        den = flat.amax(-1, keepdim=True)
        return safe_div(flat, den, valid & (den > 0)).view(maps.shape)

    def train_norm(self, maps: torch.Tensor) -> torch.Tensor:
        flat, _, _, high, valid = self._flatten(maps)
        q = torch.quantile(flat, self.percentile, dim=-1, keepdim=True, interpolation='nearest')
        out = safe_div((flat - q).clamp_min(0), high, valid & (high > 0))
        return out.view(maps.shape)
