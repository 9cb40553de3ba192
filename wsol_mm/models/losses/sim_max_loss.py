"""CCAM's rank-weighted similarity-maximisation loss."""
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS

from .similarity import clamped_cosine


@MODELS.register_module()
class SimMaxLoss(nn.Module):
    """Pull the features of a batch together (CCAM, Xie et al. CVPR 2022).

    With ``s_ij = clamp(cos(x_i, x_j), 5e-4, 1 - 5e-4)`` and ``r_ij`` the 0-based
    rank of ``j`` in row ``i`` sorted by decreasing ``s`` (the self pair has
    rank 0)::

        loss = mean_ij exp(-alpha (r_ij - 1)) * (-log s_ij)

    Ties are ranked in index order (stable sort).

    Args:
        alpha (float): rank decay. Defaults to 0.75 (LCA-MD).
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, alpha: float = 0.75, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha = alpha
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """Loss of ``(N, D)`` features."""
        sim = clamped_cosine(feats, feats)
        order = sim.detach().sort(dim=1, descending=True, stable=True).indices
        rank = order.argsort(dim=1)
        weight = torch.exp(-self.alpha * (rank.to(sim.dtype) - 1))
        loss = (weight * -torch.log(sim)).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'alpha={self.alpha}, loss_weight={self.loss_weight}'
