"""Shared fixtures of the training-method tests."""
from typing import Callable, List, Sequence

import numpy as np
import pytest
import torch

from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()


def _label_samples(labels: Sequence[int]) -> List[WSOLDataSample]:
    out = []
    for lab in labels:
        s = WSOLDataSample()
        s.gt_label = torch.tensor([lab])
        out.append(s)
    return out


@pytest.fixture
def label_samples() -> Callable[[Sequence[int]], List[WSOLDataSample]]:
    """Factory: one data sample per label, carrying only ``gt_label``."""
    return _label_samples


class FixedDraws:
    """Stand-in for ``MethodRNG`` that replays given draws, in order, and counts them."""

    def __init__(self, random=(), beta=(), integers=(), permutation=()) -> None:
        self.queues = dict(random=list(random), beta=list(beta), integers=list(integers),
                           permutation=list(permutation))
        self.calls = []

    def _next(self, kind: str):
        self.calls.append(kind)
        return self.queues[kind].pop(0)

    def random(self, size=None):
        if size is None:
            return float(self._next('random'))
        return np.asarray(self._next('random'), dtype=np.float64).reshape(size)

    def beta(self, a, b):
        return float(self._next('beta'))

    def integers(self, high):
        value = int(self._next('integers'))
        assert 0 <= value < high
        return value

    def permutation(self, n):
        return torch.as_tensor(self._next('permutation'), dtype=torch.int64)


@pytest.fixture
def fixed_draws() -> Callable[..., FixedDraws]:
    """Factory of a ``MethodRNG`` stand-in replaying fixed draws (``FixedDraws``)."""
    return FixedDraws
