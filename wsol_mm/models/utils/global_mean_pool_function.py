"""Global average pooling whose gradient is a broadcast view, not a new feature map.

``x.mean(dim=(2, 3))`` in training hands its input a materialised gradient: ``g / (h w)``
written out at the full ``(B, C, h, w)`` size, in the default (NCHW) order whatever the
order of ``x``. A CAM backbone's last map is channels-last and comes out of a ReLU, so
the first operation of the backward pass (the ReLU's, at the step's memory peak) met one
operand in each order: for ResNet50's ``(8, 2048, 28, 28)`` map that write took 16 ms and
the mixed-order ReLU gradient 46 ms against 18 ms for an order it can stream, and the
materialised 51 MB sat on the peak (``benchmarks/global_mean_pool.py``).
:class:`GlobalMeanPoolFunction` returns ``g / (h w)`` expanded to ``x``'s shape, a view
with zero strides over ``h, w``: the same values, bit for bit (the same division of the
same numbers), which every consumer reads in its own order.
"""
from typing import Tuple

import torch
from torch.autograd.function import once_differentiable


class GlobalMeanPoolFunction(torch.autograd.Function):
    """``x.mean(dim=(2, 3))`` for a 4-D ``x``, whose input gradient is the output
    gradient divided by ``h * w`` and expanded to ``x``'s shape (a view). Not twice
    differentiable."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.shape = x.shape
        return x.mean(dim=(2, 3))

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[torch.Tensor]:
        shape = ctx.shape
        # what aten's mean backward computes (the expanded gradient divided by the
        # count), divided before the expansion: the same value at every position
        return (grad / (shape[2] * shape[3]))[:, :, None, None].expand(shape),


def global_mean_pool(x: torch.Tensor) -> torch.Tensor:
    """``x.mean(dim=(2, 3))`` with the same values and gradients; where autograd records
    it, by :class:`GlobalMeanPoolFunction` (a broadcast gradient), else as it is."""
    if (x.dim() == 4 and torch.is_grad_enabled() and x.requires_grad
            and not torch.compiler.is_compiling()):
        return GlobalMeanPoolFunction.apply(x)
    return x.mean(dim=(2, 3))
