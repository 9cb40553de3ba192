"""Cross-entropy classification loss (hard labels or soft targets)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS

from ..utils.precision import at_least_float32


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Softmax cross entropy with optional label smoothing.

    Targets are ``(B,)`` class indices, or ``(B, C)`` class probabilities (soft targets,
    e.g. CutMix's ``lam * onehot(y_a) + (1 - lam) * onehot(y_b)``, whose loss equals
    ``lam * CE(y_a) + (1 - lam) * CE(y_b)``).

    Args:
        loss_weight (float): multiplier of the loss. Defaults to 1.0.
        label_smoothing (float): smoothing in [0, 1). Defaults to 0.0.
    """

    def __init__(self, loss_weight: float = 1.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.label_smoothing = label_smoothing

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean loss of ``(B, C)`` logits against ``(B,)`` labels or ``(B, C)`` targets."""
        logits = at_least_float32(logits)
        if labels.is_floating_point():
            if labels.shape != logits.shape:
                raise ValueError(f'CrossEntropyLoss: soft targets of shape {tuple(labels.shape)}'
                                 f' for logits {tuple(logits.shape)}; a batch augment\'s '
                                 '`num_classes` must equal the head\'s')
            labels = labels.to(logits.dtype)
        return self.loss_weight * F.cross_entropy(logits, labels,
                                                  label_smoothing=self.label_smoothing)
