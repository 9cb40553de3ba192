"""GELU + linear layer whose GELU output is recomputed in the backward pass instead of kept.

In a transformer block's MLP (``fc1 -> GELU -> fc2``) a training step keeps the hidden
activation twice: GELU keeps its input ``h`` (its backward reads it) and ``fc2`` keeps
``gelu(h)`` (its weight gradient reads it), each ``tokens x 4 * dim`` floats: 9.7 MB per
DeiT-S block at batch 8, 116 MB a step. :class:`RecomputedGeluLinearFunction` keeps ``h``
only and computes ``gelu(h)`` again when the gradient reaches it: one GELU pass more per
block (0.6 ms on 2 cores), the same values bit for bit (an elementwise op of the same
tensor) and the same gradients (the ops autograd runs for the two modules).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from . import onednn_linear_function as onednn
from .onednn_linear_function import has_hooks, takes_onednn


class RecomputedGeluLinearFunction(torch.autograd.Function):
    """``gelu(h) W^T + b`` for 2-D float32 CPU ``h`` through oneDNN (as
    :class:`~.onednn_linear_function.OneDNNLinearFunction`), keeping ``h`` instead of
    ``gelu(h)``.

    The backward pass computes ``gelu(h)`` again for the weight gradient, then runs the
    input gradient ``G W`` and GELU's backward (``aten::gelu_backward``), as autograd runs
    them for ``nn.GELU`` and the oneDNN linear layer. Not twice differentiable.
    """

    @staticmethod
    def forward(ctx, h: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                approximate: str) -> torch.Tensor:
        ctx.save_for_backward(h, weight)
        ctx.approximate, ctx.with_bias = approximate, bias is not None
        return onednn._dense(F.gelu(h, approximate=approximate), weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        h, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_w = grad_h = None
        if ctx.needs_input_grad[1]:
            grad_w = onednn._weight_grad(grad, F.gelu(h, approximate=ctx.approximate))
        if ctx.needs_input_grad[0]:
            grad_g = onednn._dense(grad, weight.t(), None)
            grad_h = torch.ops.aten.gelu_backward(grad_g, h, approximate=ctx.approximate)
        grad_b = grad.sum(0) if ctx.with_bias and ctx.needs_input_grad[2] else None
        return grad_h, grad_w, grad_b, None


def recomputable_gelu_linear(act: nn.Module, layer: nn.Module, h: torch.Tensor,
                             enabled: bool = True) -> bool:
    """Whether ``layer(act(h))`` can run as :func:`gelu_linear_recomputed`: ``act`` an
    ``nn.GELU`` without hooks, ``layer`` on :func:`~.onednn_linear_function.onednn_linear`'s
    oneDNN path, and a gradient to keep anything for."""
    return (type(act) is nn.GELU and not has_hooks(act) and takes_onednn(layer, h, enabled)
            and torch.is_grad_enabled()
            and (h.requires_grad or any(p is not None and p.requires_grad
                                        for p in (layer.weight, layer.bias))))


def gelu_linear_recomputed(act: nn.GELU, layer: nn.Linear, h: torch.Tensor) -> torch.Tensor:
    """``layer(act(h))`` by :class:`RecomputedGeluLinearFunction` (``h`` ``(..., in)``);
    the caller checks :func:`recomputable_gelu_linear`."""
    flat = h.reshape(-1, h.shape[-1]).contiguous()
    out = RecomputedGeluLinearFunction.apply(flat, layer.weight, layer.bias, act.approximate)
    return out.view(*h.shape[:-1], out.shape[-1])
