"""``F.linear`` of a transformer's layers through oneDNN on CPU, in float32."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

from wsol_mm.utils.cpu_info import cpu_info_field, cpu_vendor


def _find_op():
    """oneDNN's dense linear (the op inductor's CPU backend calls), or None if absent."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise
    except (AttributeError, RuntimeError):  # a build without it
        return None


_LINEAR = _find_op()


def prefers_onednn(vendor: str, flags: str) -> bool:
    """Whether oneDNN's GEMM beats MKL's for the blocks' linear layers on this CPU.

    MKL takes its AVX2 code on AMD CPUs, where oneDNN uses AVX-512: oneDNN ran a DeiT-S
    block's products 2.1-2.3x as fast on a Zen 5 (1.01-1.29x on a Zen 4). Without AVX-512
    both have AVX2 only, and MKL was the faster one: a block 0.81x through oneDNN, training
    steps 0.78-1.00x (median), on 2 AMD Zen 3 cores. On Intel MKL uses AVX-512 itself and
    was the faster one too: a block 0.82x through oneDNN, training steps 0.83-0.91x, on a
    2-core Xeon with AMX (``benchmarks/linear_layers.py``).

    Args:
        vendor (str): ``vendor_id`` of ``/proc/cpuinfo``.
        flags (str): its ``flags`` (``''`` when unknown: MKL, torch's own path).
    """
    return 'intel' not in vendor.lower() and 'avx512f' in flags.split()


def weight_grad_prefers_mkl(vendor: str, family: str) -> bool:
    """Whether MKL's GEMM beats oneDNN's for the weight gradient ``G^T x`` of a layer
    that does not narrow (``in <= out`` features: a DeiT block's qkv, proj and fc1).

    oneDNN copies a transposed input, so it needs ``x^T`` in memory; MKL reads either
    operand transposed in place. On an AMD Zen 4 (CPU family 25), whose AVX-512 units
    are half as wide, MKL's AVX2 code was the faster one for these three products
    (oneDNN 0.85-0.97x in two runs of ``benchmarks/linear_layers.py``) and oneDNN for
    fc2's (1.05-1.07x); on a Zen 5 (family 26) oneDNN ran the weight gradients 1.7-1.9x
    as fast as MKL. Older AMD CPUs (Zen 3 is family 25 too, without AVX-512) take MKL for
    every product anyway (:func:`prefers_onednn`; oneDNN's weight gradients 0.60-0.86x
    there).

    Args:
        vendor (str): ``vendor_id`` of ``/proc/cpuinfo``.
        family (str): its ``cpu family`` (decimal; ``''`` when unknown).
    """
    return 'amd' in vendor.lower() and family.isdigit() and int(family) <= 25


#: take the oneDNN path where it is allowed (see :func:`prefers_onednn`)
PREFERRED = prefers_onednn(cpu_vendor(), cpu_info_field('flags'))
#: on that path, weight gradients of layers that do not narrow through MKL (see
#: :func:`weight_grad_prefers_mkl`)
MKL_WEIGHT_GRAD = weight_grad_prefers_mkl(cpu_vendor(), cpu_info_field('cpu family'))


def weight_grad_through_mkl(in_features: int, out_features: int) -> bool:
    """Whether :class:`OneDNNLinearFunction` takes MKL for the weight gradient of a layer
    of these sizes on this CPU (:data:`MKL_WEIGHT_GRAD` and a layer that does not
    narrow); read at call time, so clearing the flag reaches every later step."""
    return MKL_WEIGHT_GRAD and in_features <= out_features


def _dense(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    return _LINEAR(x, weight, bias, 'none', [], '')


def _weight_grad(grad: torch.Tensor, x: Optional[torch.Tensor] = None,
                 x_t: Optional[torch.Tensor] = None,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``G^T x`` (``G`` ``(M, N)``, ``x`` ``(M, K)``) as a oneDNN dense layer, contiguous
    or written into ``out``.

    oneDNN packs its weight operand from any strides but copies a transposed input, so the
    smaller of ``G`` and ``x`` is the one transposed: ``(x^T G)^T`` when ``K < N`` (qkv,
    fc1: 9-13 % faster than ``G^T x`` there), else ``G^T x``. ``x_t``: ``x^T``, already
    contiguous (given instead of ``x``; taken as ``(x^T G)^T``).
    """
    if x_t is None and x.shape[1] < grad.shape[1]:
        x_t = x.t()
    if x_t is not None:
        prod = _dense(x_t, grad.t(), None).t()
    else:
        prod = _dense(grad.t(), x.t(), None)
    return prod.contiguous() if out is None else out.copy_(prod)


class OneDNNLinearFunction(torch.autograd.Function):
    """``x W^T + b`` for 2-D float32 CPU ``x``, with the input gradient through oneDNN too.

    The same products as ``F.linear`` and its autograd (only the summation order inside
    the GEMM differs, float noise): the output, ``dL/dx = G W`` and ``dL/dW = G^T x`` as
    oneDNN dense layers (the latter from the transposed views of ``G`` and ``x``), except
    the weight gradient of a layer that does not narrow where :data:`MKL_WEIGHT_GRAD`
    holds (``torch.mm``, i.e. MKL; ``benchmarks/linear_layers.py`` times each product
    both ways). Not twice differentiable.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor,
                bias: Optional[torch.Tensor]) -> torch.Tensor:
        # Only the weight gradient reads x. Where oneDNN takes x^T (K < N: qkv, fc1), x^T is
        # made here, while x is still in cache, and kept instead of x (the same bytes): a
        # DeiT-S step ran 1.0-1.5 % faster than with the copy in the backward pass. MKL
        # reads x as it is (the choice is made here, so a step keeps one path throughout).
        wants_x = ctx.needs_input_grad[1]
        ctx.mkl = wants_x and weight_grad_through_mkl(x.shape[1], weight.shape[0])
        ctx.transposed = wants_x and not ctx.mkl and x.shape[1] < weight.shape[0]
        kept = x.t().contiguous() if ctx.transposed else x if wants_x else None
        ctx.save_for_backward(kept, weight)
        ctx.with_bias = bias is not None
        return _dense(x, weight, bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor) -> Tuple[Optional[torch.Tensor], ...]:
        kept, weight = ctx.saved_tensors
        grad = grad.contiguous()
        grad_x = _dense(grad, weight.t(), None) if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.mkl:
            grad_w = torch.mm(grad.t(), kept)
        elif ctx.needs_input_grad[1]:
            grad_w = _weight_grad(grad, x_t=kept) if ctx.transposed else _weight_grad(grad, kept)
        grad_b = grad.sum(0) if ctx.with_bias and ctx.needs_input_grad[2] else None
        return grad_x, grad_w, grad_b


def onednn_linear(layer: nn.Linear, x: torch.Tensor, enabled: bool = True) -> torch.Tensor:
    """``layer(x)``, through :class:`OneDNNLinearFunction` where that is the faster path.

    MKL's ``sgemm`` behind ``F.linear`` takes its AVX2 code on AMD CPUs; oneDNN uses
    AVX-512 where the CPU has it (AMD CPUs without AVX-512 keep MKL: :func:`prefers_onednn`).
    On this project's 2-core AMD Zen 5 machine oneDNN ran
    the forward and input-gradient products of a DeiT-S block's linear layers 2.1-2.3x
    and the weight gradient 1.7-1.9x as fast (on a Zen 4, whose AVX-512 units are half
    as wide, 1.01-1.29x, and MKL the faster one for the weight gradients of qkv, proj
    and fc1, which take it there: :data:`MKL_WEIGHT_GRAD`;
    ``benchmarks/linear_layers.py`` measures them on the machine it runs on). On Intel
    CPUs MKL is the faster one (:data:`PREFERRED` is False there) and this is
    ``layer(x)``. Everything else is ``layer(x)`` too: other
    dtypes (the float64 numerics fixtures, bfloat16), autocast (it casts ``F.linear``'s
    inputs), other devices, ``torch.compile`` tracing, a torch without oneDNN,
    ``enabled=False``, and layers that are not a plain ``nn.Linear`` or have hooks (their
    own forward and hooks run as usual).

    Args:
        layer (nn.Linear): the layer (its parameters are used as they are).
        x (Tensor): input ``(..., in_features)``.
        enabled (bool): allow the oneDNN path. Defaults to True.

    Returns:
        Tensor: ``(..., out_features)``.
    """
    if not takes_onednn(layer, x, enabled):
        return layer(x)
    weight, bias = layer.weight, layer.bias
    flat = x.reshape(-1, x.shape[-1]).contiguous()
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad
                                    or (bias is not None and bias.requires_grad)):
        out = OneDNNLinearFunction.apply(flat, weight, bias)
    else:
        out = _dense(flat, weight, bias)
    return out.view(*x.shape[:-1], out.shape[-1])


def takes_onednn(layer: nn.Module, x: torch.Tensor, enabled: bool = True) -> bool:
    """Whether :func:`onednn_linear` runs ``layer(x)`` through oneDNN (the conditions
    listed there)."""
    weight = getattr(layer, 'weight', None)
    return (enabled and PREFERRED and _LINEAR is not None and type(layer) is nn.Linear
            and not has_hooks(layer) and x.dtype == torch.float32
            and weight.dtype == torch.float32 and x.device.type == 'cpu'
            and weight.device.type == 'cpu' and not torch.is_autocast_enabled('cpu')
            and not torch.compiler.is_compiling() and x.numel() > 0)


def has_hooks(layer: nn.Module) -> bool:
    """Whether calling ``layer`` runs hooks (which a path around its ``forward`` would skip,
    and which a module swap would lose)."""
    return bool(layer._forward_hooks or layer._forward_pre_hooks or layer._backward_hooks
                or layer._backward_pre_hooks)
