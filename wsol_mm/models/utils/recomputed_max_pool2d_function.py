"""Max pooling that keeps no argmax indices for the backward pass.

``F.max_pool2d`` in training saves its input and an int64 index per output element; the
input is usually saved anyway (it is the output of the ReLU before the pool, which keeps it
for its own gradient), the indices are not: 8 bytes per output element, twice a float32
output. Crop consistency InceptionV3 keeps about 74 MB of them through each training step
(two passes, three pools each), at the step's memory peak (the start of the backward pass).
:class:`RecomputedMaxPool2dFunction` saves only the input and finds the indices again when
the gradient is needed (one pooling pass, deterministic: the same indices, so the same
gradient, bit for bit).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable


class RecomputedMaxPool2dFunction(torch.autograd.Function):
    """``F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)`` (square
    window, no dilation) whose backward recomputes the argmax indices from the saved
    input instead of keeping them. Not twice differentiable."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, kernel_size: int, stride: int, padding: int,
                ceil_mode: bool) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.args = (kernel_size, stride, padding, ceil_mode)
        return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        x, = ctx.saved_tensors
        return max_pool2d_input_grad(grad, x, *ctx.args), None, None, None, None


def max_pool2d_input_grad(grad: torch.Tensor, x: torch.Tensor, kernel_size: int, stride: int,
                          padding: int, ceil_mode: bool) -> torch.Tensor:
    """The gradient of ``F.max_pool2d(x, ...)`` for the output gradient ``grad``, its argmax
    indices found again from ``x`` (the indices autograd would have kept)."""
    _, indices = F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode,
                              return_indices=True)
    return torch.ops.aten.max_pool2d_with_indices_backward(
        grad, x, [kernel_size] * 2, [stride] * 2, [padding] * 2, [1, 1], ceil_mode, indices)


def max_pool2d_recomputed(x: torch.Tensor, kernel_size: int, stride: int, padding: int = 0,
                          ceil_mode: bool = False) -> torch.Tensor:
    """``F.max_pool2d`` with the same values and gradients; where autograd records it, by
    :class:`RecomputedMaxPool2dFunction` (no saved indices), else as it is."""
    if torch.is_grad_enabled() and x.requires_grad and not torch.compiler.is_compiling():
        return RecomputedMaxPool2dFunction.apply(x, kernel_size, stride, padding, ceil_mode)
    return F.max_pool2d(x, kernel_size, stride, padding, ceil_mode=ceil_mode)
