"""Cross-entropy classification loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS

from ..utils.precision import at_least_float32


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross entropy with optional label smoothing.

    Args:
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        label_smoothing (float): smoothing in [0, 1). Defaults to 0.0.
    """

    def __init__(self, loss_weight: float = 1.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean loss of ``(B, C)`` logits against ``(B,)`` labels."""
        return self.loss_weight * F.cross_entropy(at_least_float32(logits), labels,
                                                  label_smoothing=self.label_smoothing)
