"""Shared fixtures of the backbone tests."""
from typing import Callable, Tuple

import pytest
import torch
import torch.nn as nn

import wsol_mm  # noqa: F401  (compat shim before torchvision use)
from wsol_mm.utils import register_all_modules

register_all_modules()


@pytest.fixture
def tv_models():
    """``torchvision.models``, imported after wsol_mm's compat shim."""
    import torchvision
    return torchvision.models


def _meta_forward(backbone_cls: type, size: int = 224,
                  **kwargs) -> Tuple[nn.Module, Tuple[torch.Tensor, ...]]:
    # meta tensors: the real layer code, shapes only, no arithmetic (fast on CPU)
    with torch.device('meta'):
        model = backbone_cls(**kwargs).eval()
        return model, model(torch.rand(1, 3, size, size))


@pytest.fixture
def meta_forward() -> Callable[..., Tuple[nn.Module, Tuple[torch.Tensor, ...]]]:
    """Factory ``(backbone_cls, size=224, **kwargs) -> (model, outputs)`` on the meta device."""
    return _meta_forward


def _assert_same_training(on: nn.Module, off: nn.Module, x: torch.Tensor, steps: int = 2,
                          before_step: Callable[[], None] = lambda: None) -> None:
    for _ in range(steps):  # the second step reads the first's running statistics
        results = []
        for model in (on, off):
            before_step()
            model.zero_grad()
            out = model(x)
            sum(o.square().mean() for o in out).backward()
            results.append((out, [p.grad for p in model.parameters()], list(model.buffers())))
        for a, b in zip(results[0][0], results[1][0]):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * float(b.detach().abs().max()))
        for a, b in zip(results[0][2], results[1][2]):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        for a, b in zip(results[0][1], results[1][1]):  # float32 sums over batch x pixels
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


@pytest.fixture
def assert_same_training() -> Callable[..., None]:
    """``(on, off, x, steps=2, before_step=...)``: two training-mode models give the same
    outputs, buffers and gradients up to float32 rounding, step after step."""
    return _assert_same_training
