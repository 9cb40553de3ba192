"""Similarity helper shared by the CCAM losses."""
import torch
import torch.nn.functional as F

SIM_EPS = 5e-4


def clamped_cosine(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N, M)`` cosine similarities clamped to ``[5e-4, 1 - 5e-4]`` (float32).

    The clamp keeps ``-log(s)`` and ``-log(1 - s)`` finite (CCAM's ``cos_simi``).
    """
    x = F.normalize(x.float(), dim=1)
    y = F.normalize(y.float(), dim=1)
    return (x @ y.t()).clamp(SIM_EPS, 1 - SIM_EPS)
