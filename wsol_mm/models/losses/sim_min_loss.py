"""CCAM's similarity-minimisation loss between background and foreground."""
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS

from .similarity import clamped_cosine


@MODELS.register_module()
class SimMinLoss(nn.Module):
    """Push background features away from foreground features (CCAM).

    ``loss = mean_ij -log(1 - s(b_i, f_j))`` over all ``N x N`` pairs, same-image
    pairs included, with ``s`` the clamped cosine of :class:`SimMaxLoss`.

    Args:
        loss_weight (float): multiplier. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, bg_feats: torch.Tensor, fg_feats: torch.Tensor) -> torch.Tensor:
        """Loss of ``(N, D)`` background against ``(N, D)`` foreground features."""
        sim = clamped_cosine(bg_feats, fg_feats)
        return self.loss_weight * -torch.log(1 - sim).mean()
