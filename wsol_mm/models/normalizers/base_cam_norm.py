"""Base of the CAM normalisers (Small Object Matters' four normalisations and plain min-max)."""
from typing import Tuple

import torch
import torch.nn as nn

from ..utils.precision import at_least_float32


def safe_div(num: torch.Tensor, den: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    """``num / den`` where ``ok``, else 0 (the unused branch never sees a 0 divisor)."""
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))


class BaseCAMNorm(nn.Module):
    """A per-map normalisation of ``(..., h, w)`` maps, in two flavours (as released).

    * ``forward`` - the final score-map normalisation (the released ``normalize_scoremap``
      that every evaluated map goes through); peak 1.
    * ``train_norm`` - the differentiable one used inside crop consistency's two passes
      (the released ``normalize_tensor``; for PaS/IVR its quantile and scale differ
      slightly from ``forward``).

    Both are NaN-safe: a map that is not finite, constant, or whose divisor is not
    positive becomes all zeros, and both run in at least float32 (also under AMP).
    """

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Final score-map normalisation."""
        raise NotImplementedError

    def train_norm(self, maps: torch.Tensor) -> torch.Tensor:
        """Differentiable normalisation of the two-pass computation."""
        raise NotImplementedError

    @staticmethod
    def _flatten(maps: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """``(flat, finite, low, high, valid)``: non-finite maps zeroed, per-map range."""
        flat = at_least_float32(maps).flatten(-2)
        finite = torch.isfinite(flat).all(-1, keepdim=True)
        flat = torch.where(finite, flat, torch.zeros_like(flat))
        low, high = flat.amin(-1, keepdim=True), flat.amax(-1, keepdim=True)
        return flat, finite, low, high, finite & (high > low)
