"""Feature-direction and feature-norm alignment losses of Bridging the gap (Kim et al. 2022)."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS

_NORM_REFERENCES = ('target', 'max_class')


@MODELS.register_module()
class FeatureAlignmentLoss(nn.Module):
    """``L_sim`` and ``L_norm`` between pixel features and class weights.

    With ``n`` the per-image min-max normalised L2 norm of the pixel features and
    ``s`` the cosine similarity of each pixel feature with the GT-class weight:

    * ``L_sim = mean_b(mean(s | n < bg_threshold) - mean(s | n > fg_threshold))``:
      high-norm (object) pixels point along the class weight, low-norm ones not;
    * ``L_norm = mean_b(mean(n | r < 0) - mean(n | r > 0))`` with ``r = s``
      (``norm_reference='target'``, ImageNet) or the maximum similarity over all
      classes (``'max_class'``, CUB): pixels aligned with a class get a high norm.

    Masked means divide by ``count + eps`` (an empty mask gives 0).

    Args:
        fg_threshold (float): normalised-norm threshold of the foreground.
            Defaults to 0.4.
        bg_threshold (float): normalised-norm threshold of the background.
            Defaults to 0.2.
        norm_reference (str): 'target' or 'max_class'. Defaults to 'target'.
        eps (float): denominators' epsilon. Defaults to 1e-15.
    """

    def __init__(self, fg_threshold: float = 0.4, bg_threshold: float = 0.2,
                 norm_reference: str = 'target', eps: float = 1e-15) -> None:
        super().__init__()
        if norm_reference not in _NORM_REFERENCES:
            raise ValueError(f'FeatureAlignmentLoss: norm_reference must be one of '
                             f'{_NORM_REFERENCES}, got {norm_reference!r}')
        self.fg_threshold, self.bg_threshold = fg_threshold, bg_threshold
        self.norm_reference, self.eps = norm_reference, eps

    def _masked_mean(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        mask = mask.to(values.dtype)
        return (mask * values).sum(dim=1) / (mask.sum(dim=1) + self.eps)

    def forward(self, fmap: torch.Tensor, sim: torch.Tensor,
                labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(L_sim, L_norm)``: features ``(B, D, h, w)``, cosines ``(B, C, h, w)``, labels."""
        b = fmap.shape[0]
        norm = fmap.norm(dim=1).flatten(1)  # (B, hw)
        lo, hi = norm.amin(dim=1, keepdim=True), norm.amax(dim=1, keepdim=True)
        norm = (norm - lo) / (hi - lo).clamp_min(self.eps)
        sim_target = sim[torch.arange(b, device=sim.device), labels].flatten(1)
        loss_sim = (self._masked_mean(sim_target, norm < self.bg_threshold)
                    - self._masked_mean(sim_target, norm > self.fg_threshold)).mean()
        ref = sim_target if self.norm_reference == 'target' else sim.amax(dim=1).flatten(1)
        loss_norm = (self._masked_mean(norm, ref < 0) - self._masked_mean(norm, ref > 0)).mean()
        return loss_sim, loss_norm
