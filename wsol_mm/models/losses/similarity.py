"""Similarity helper shared by the CCAM losses."""
import torch
import torch.nn.functional as F

from ..utils.precision import at_least_float32, autocast_off

SIM_EPS = 5e-4


def clamped_cosine(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(N, M)`` cosine similarities clamped to ``[5e-4, 1 - 5e-4]`` (float32).

    The clamp keeps ``-log(s)`` and ``-log(1 - s)`` finite (CCAM's ``cos_simi``); in
    bfloat16 ``1 - 5e-4`` rounds to 1, so the product leaves autocast.
    """
    with autocast_off(x):
        x = F.normalize(at_least_float32(x), dim=1)
        y = F.normalize(at_least_float32(y), dim=1)
        return (x @ y.t()).clamp(SIM_EPS, 1 - SIM_EPS)
