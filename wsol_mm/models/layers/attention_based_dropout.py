"""ADL: Attention-based Dropout Layer (Choe & Shim, CVPR 2019), as in wsolevaluation."""
import math
from typing import Optional

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS

from ..utils.method_rng import MethodRNG, method_rng


@MODELS.register_module()
class AttentionBasedDropout(nn.Module):
    """Multiply a feature map by its importance map or by its drop mask (training only).

    With the self-attention ``A = mean over channels of x`` ``(B, 1, h, w)``:

    * importance map ``sigmoid(A)`` (keeps the gradient through ``A``);
    * drop mask ``A < drop_threshold * max(A)`` per image (0 on the most activated
      positions, no gradient).

    Each call draws one ``u`` uniform in [0, 1) for the whole batch and uses the drop
    mask iff ``floor(u + drop_rate) == 1``, i.e. with probability ``drop_rate``, as
    released. In eval mode the layer is the identity. No parameters or buffers, so
    inserting it leaves a model's checkpoint keys unchanged.

    Args:
        drop_rate (float): probability of the drop mask. Defaults to 0.75
            (wsolevaluation ``--adl_drop_rate``).
        drop_threshold (float): gamma, fraction of the attention maximum. Defaults to
            0.9 (wsolevaluation ``--adl_threshold``; the released class's own default
            0.8 is never used by its scripts).

    Examples:
        >>> adl = AttentionBasedDropout().eval()
        >>> x = torch.rand(2, 3, 4, 4)
        >>> torch.equal(adl(x), x)
        True
    """

    def __init__(self, drop_rate: float = 0.75, drop_threshold: float = 0.9) -> None:
        super().__init__()
        for key, val in (('drop_rate', drop_rate), ('drop_threshold', drop_threshold)):
            if not 0 <= val <= 1:
                raise ValueError(f'AttentionBasedDropout: {key} must be in [0, 1], got {val} '
                                 '(key `adl` of the backbone / head)')
        self.drop_rate, self.drop_threshold = drop_rate, drop_threshold
        self.rng: Optional[MethodRNG] = None  # None: the shared method_rng()

    def extra_repr(self) -> str:
        return f'drop_rate={self.drop_rate}, drop_threshold={self.drop_threshold}'

    @staticmethod
    def importance_map(x: torch.Tensor) -> torch.Tensor:
        """``sigmoid(channel mean)`` ``(B, 1, h, w)``."""
        return torch.sigmoid(x.mean(dim=1, keepdim=True))

    def drop_mask(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 1, h, w)``: 0 where the channel mean reaches ``drop_threshold`` of its max."""
        attention = x.mean(dim=1, keepdim=True)
        peak = attention.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
        return (attention < peak * self.drop_threshold).to(x.dtype)

    def uses_drop_mask(self, u: float) -> bool:
        """The released switch: drop mask iff ``floor(u + drop_rate) == 1``."""
        return math.floor(u + self.drop_rate) >= 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` times the selected map in training; ``x`` itself in eval mode."""
        if not self.training:
            return x
        u = (self.rng or method_rng()).random()
        return x * (self.drop_mask(x) if self.uses_drop_mask(u) else self.importance_map(x))
