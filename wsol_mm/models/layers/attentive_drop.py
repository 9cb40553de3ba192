"""Attentive feature drop of Bridging the gap (Kim et al., CVPR 2022)."""
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS


@MODELS.register_module()
class AttentiveDrop(nn.Module):
    """Zero the most activated positions of a feature map, each with probability ``drop_prob``.

    The attention is the channel mean; a position is a drop candidate when its
    attention exceeds ``drop_threshold`` times the image's maximum, and each
    candidate is dropped (all channels) independently with ``drop_prob``.

    Args:
        drop_threshold (float): fraction of the maximum attention. Defaults to 0.8.
        drop_prob (float): per-position drop probability. Defaults to 0.25.
    """

    def __init__(self, drop_threshold: float = 0.8, drop_prob: float = 0.25) -> None:
        super().__init__()
        for key, val in (('drop_threshold', drop_threshold), ('drop_prob', drop_prob)):
            if not 0 <= val <= 1:
                raise ValueError(f'AttentiveDrop: {key} must be in [0, 1], got {val}')
        self.drop_threshold, self.drop_prob = drop_threshold, drop_prob

    def extra_repr(self) -> str:
        return f'drop_threshold={self.drop_threshold}, drop_prob={self.drop_prob}'

    def drop_mask(self, x: torch.Tensor) -> torch.Tensor:
        """Keep-mask ``(B, 1, h, w)``: 0 where a position is dropped."""
        attention = x.detach().mean(dim=1, keepdim=True)
        peak = attention.amax(dim=(2, 3), keepdim=True)
        candidate = attention > peak * self.drop_threshold
        chosen = torch.rand_like(attention) <= self.drop_prob
        return (~(candidate & chosen)).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The erased copy of ``x`` ``(B, C, h, w)``."""
        return x * self.drop_mask(x)
