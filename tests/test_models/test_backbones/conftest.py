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
