"""Shared fixtures of the training-method tests."""
from typing import Callable, List, Sequence

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
