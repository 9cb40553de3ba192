"""Batch norm + ReLU whose output is recomputed in the backward pass instead of kept.

In a conv -> batch norm -> ReLU -> conv chain (Inception-v3's ``BasicConv2d`` layers), a
training step keeps two activations per layer: batch norm keeps its input (the first
convolution's output) and the ReLU's output is kept by the ReLU (its mask) and by the
next layer (the next convolution's weight gradient, or a max pool). The second follows
from the first and batch norm's batch statistics by one multiply-add and a ReLU, so
:class:`RecomputedBatchNormReLUFunction` keeps the first only and computes the ReLU
output again, once, when the gradient reaches it.
"""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .onednn_linear_function import has_hooks
from .recomputed_max_pool2d_function import max_pool2d_input_grad


def _normalized_relu(c: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                     mean: torch.Tensor, invstd: torch.Tensor) -> torch.Tensor:
    """``relu((c - mean) * invstd * gamma + beta)`` per channel, as one multiply-add.

    The forward and the backward pass both call this: the same operations on the same
    tensors, so the recomputed output is the forward's, bit for bit. The terms are those
    of batch norm's CPU kernel (``scale = invstd * gamma``, ``shift = beta - mean *
    scale``, ``c * scale + shift``), each multiply-add in one ``addcmul``, which rounds as
    that kernel does where it is compiled with fused multiply-adds: then the output is
    batch norm's own, whatever ``gamma`` and ``beta`` (a plain ``beta - mean * scale``
    rounds twice and drifts from it by an ulp once ``gamma`` and ``beta`` have trained).
    """
    scale = invstd * gamma
    shift = torch.addcmul(beta, mean, scale, value=-1)
    shape = (-1, ) + (1, ) * (c.dim() - 2)
    return torch.addcmul(shift.view(shape), c, scale.view(shape)).relu_()


class RecomputedBatchNormReLUFunction(torch.autograd.Function):
    """``consumer(relu(batch_norm(c)))`` with batch norm's batch statistics ``mean`` and
    ``invstd`` given, keeping ``c`` instead of the ReLU output.

    The consumer is a bias-free convolution (``weight`` and ``conv = (stride, padding,
    dilation, groups)``) or, with ``weight`` None, a max pool (``pool = (kernel, stride,
    padding, ceil_mode)``). The backward pass recomputes the ReLU output, runs the
    consumer's backward (``convolution_backward``, or the max pool's with its indices
    found again), the ReLU's mask and ``native_batch_norm_backward``: the ops autograd
    runs for the modules, on the same tensors. Not twice differentiable.
    """

    @staticmethod
    def forward(ctx, c: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,
                weight: Optional[torch.Tensor], mean: torch.Tensor, invstd: torch.Tensor,
                eps: float, conv: Optional[Sequence], pool: Optional[Sequence]) -> torch.Tensor:
        r = _normalized_relu(c, gamma, beta, mean, invstd)
        ctx.save_for_backward(c, gamma, beta, weight, mean, invstd)
        ctx.eps, ctx.conv, ctx.pool = eps, conv, pool
        if weight is None:
            kernel, stride, padding, ceil_mode = pool
            return F.max_pool2d(r, kernel, stride, padding, ceil_mode=ceil_mode)
        stride, padding, dilation, groups = conv
        return F.conv2d(r, weight, None, stride, padding, dilation, groups)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        c, gamma, beta, weight, mean, invstd = ctx.saved_tensors
        r = _normalized_relu(c, gamma, beta, mean, invstd)
        grad_weight = None
        if weight is None:
            grad_r = max_pool2d_input_grad(grad, r, *ctx.pool)
        else:
            stride, padding, dilation, groups = ctx.conv
            grad_r, grad_weight, _ = torch.ops.aten.convolution_backward(
                grad, r, weight, None, stride, padding, dilation, False, [0, 0], groups,
                [True, ctx.needs_input_grad[3], False])
        grad_b = torch.ops.aten.threshold_backward(grad_r, r, 0)
        del r, grad_r
        grad_c, grad_gamma, grad_beta = torch.ops.aten.native_batch_norm_backward(
            grad_b, c, gamma, None, None, mean, invstd, True, ctx.eps,
            [ctx.needs_input_grad[0], ctx.needs_input_grad[1], ctx.needs_input_grad[2]])
        return grad_c, grad_gamma, grad_beta, grad_weight, None, None, None, None, None


def recomputable_bn(bn: nn.Module) -> bool:
    """Whether ``bn`` is a training-mode, affine ``BatchNorm2d`` with running statistics and
    no hooks: what :func:`bn_relu_recomputed` reproduces."""
    return (type(bn) is nn.BatchNorm2d and bn.training and bn.affine
            and bn.track_running_stats and bn.running_mean is not None and not has_hooks(bn))


def recomputable_conv(conv: nn.Module) -> bool:
    """Whether ``conv`` is a bias-free, zero-padded ``Conv2d`` without hooks (numeric
    padding): a consumer :func:`bn_relu_recomputed` can fuse."""
    return (type(conv) is nn.Conv2d and conv.bias is None and conv.padding_mode == 'zeros'
            and not isinstance(conv.padding, str) and not has_hooks(conv))


def bn_relu_recomputed(bn: nn.BatchNorm2d, c: torch.Tensor, conv: Optional[nn.Conv2d] = None,
                       pool: Optional[Sequence] = None) -> torch.Tensor:
    """``conv(relu(bn(c)))`` (or ``max_pool2d(relu(bn(c)), *pool)``) in training, by
    :class:`RecomputedBatchNormReLUFunction`; ``bn``'s running statistics and batch count
    are updated as its own forward updates them.

    ``bn`` must satisfy :func:`recomputable_bn`, ``conv`` :func:`recomputable_conv` (the
    caller checks).
    """
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:  # cumulative moving average, as _BatchNorm.forward
            factor = 1.0 / float(bn.num_batches_tracked)
    with torch.no_grad():
        # the running statistics updated by the routine batch norm's own forward uses
        mean, var = torch.batch_norm_update_stats(c, bn.running_mean, bn.running_var, factor)
        invstd = (var.double() + bn.eps).rsqrt().to(var.dtype)
    if conv is None:
        return RecomputedBatchNormReLUFunction.apply(c, bn.weight, bn.bias, None, mean, invstd,
                                                     bn.eps, None, tuple(pool))
    args = (conv.stride, conv.padding, conv.dilation, conv.groups)
    return RecomputedBatchNormReLUFunction.apply(c, bn.weight, bn.bias, conv.weight, mean,
                                                 invstd, bn.eps, args, None)
