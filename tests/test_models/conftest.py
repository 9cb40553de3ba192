"""Fixtures shared by the model tests."""
from typing import Callable, Tuple

import pytest
import torch


def _saved_bytes(model: Callable[[torch.Tensor], object], x: torch.Tensor) -> Tuple[int, object]:
    storages = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(x)
    return sum(storages.values()), out


@pytest.fixture
def saved_bytes() -> Callable[[Callable, torch.Tensor], Tuple[int, object]]:
    """``(model, x) -> (bytes of the storages autograd keeps for model(x), outputs)``;
    ``model`` is any callable (a module, or a function of ``x``)."""
    return _saved_bytes
