"""Batch norm + ReLU recomputed in the backward pass: the modules' values, gradients and
running statistics, without keeping the ReLU output."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models.utils.recomputed_batch_norm_relu_function import (
    bn_relu_recomputed,
    recomputable_bn,
)

POOL = (3, 2, 1, True)


def _modules(channels=6, out=5, momentum=0.1, dtype=torch.float32):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(channels, eps=1e-3, momentum=momentum).to(dtype)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    conv = nn.Conv2d(channels, out, 3, stride=2, padding=1, bias=False).to(dtype)
    return bn.train(), conv


def _reference(bn, conv, c):
    r = F.relu(bn(c))
    return conv(r) if conv is not None else F.max_pool2d(r, *POOL[:3], ceil_mode=POOL[3])


@pytest.mark.parametrize('consumer', ['conv', 'pool'])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('momentum', [0.1, None])
def test_same_values_gradients_and_running_statistics(consumer, channels_last, momentum):
    bn, conv = _modules(momentum=momentum)
    conv = conv if consumer == 'conv' else None
    ref_bn, ref_conv = copy.deepcopy(bn), copy.deepcopy(conv)
    c = torch.randn(4, 6, 11, 13) * 2 + 0.3
    if channels_last:
        c = c.contiguous(memory_format=torch.channels_last)
    grads, outs = [], []
    for b, cv, fn in ((bn, conv, lambda: bn_relu_recomputed(bn, x, conv=conv, pool=POOL)),
                      (ref_bn, ref_conv, lambda: _reference(ref_bn, ref_conv, x))):
        for _ in range(2):  # twice: the running statistics' second update reads the first
            x = c.clone().requires_grad_()
            out = fn()
            out.square().mean().backward()
        params = [x, b.weight, b.bias] + ([cv.weight] if cv is not None else [])
        grads.append([p.grad for p in params])
        outs.append(out)
    torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-6)
    for a, b in zip(*grads):  # float32 sums over batch x pixels
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))
    torch.testing.assert_close(bn.running_mean, ref_bn.running_mean, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bn.running_var, ref_bn.running_var, rtol=1e-6, atol=1e-7)
    assert int(bn.num_batches_tracked) == int(ref_bn.num_batches_tracked) == 2


@pytest.mark.parametrize('consumer', ['conv', 'pool'])
def test_gradcheck_float64(consumer):
    """The backward pass is the derivative of the forward (batch statistics included)."""
    bn, conv = _modules(channels=3, out=2, dtype=torch.float64)
    conv = conv if consumer == 'conv' else None
    c = (torch.randn(2, 3, 5, 6, dtype=torch.float64) + 0.2).requires_grad_()
    inputs = (c, bn.weight, bn.bias) + ((conv.weight, ) if conv is not None else ())
    assert torch.autograd.gradcheck(
        lambda *args: bn_relu_recomputed(bn, args[0], conv=conv, pool=POOL), inputs)


def test_keeps_the_input_not_the_relu_output():
    bn, conv = _modules()
    c = torch.randn(2, 6, 16, 16, requires_grad=True)
    kept = []

    def pack(t):
        kept.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        bn_relu_recomputed(bn, c, conv=conv)
    big = [t for t in kept if t.numel() == c.numel()]
    assert len(big) == 1 and big[0] is c  # the ReLU output (same size) is not kept
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        kept.clear()
        _reference(bn, conv, c)
    assert len({t.untyped_storage().data_ptr() for t in kept if t.numel() == c.numel()}) == 2


def test_recomputable_bn():
    bn, _ = _modules()
    assert recomputable_bn(bn)
    assert not recomputable_bn(copy.deepcopy(bn).eval())
    assert not recomputable_bn(nn.BatchNorm2d(4, affine=False))
    assert not recomputable_bn(nn.BatchNorm2d(4, track_running_stats=False))
    hooked = copy.deepcopy(bn)
    hooked.register_forward_hook(lambda *args: None)
    assert not recomputable_bn(hooked)
    assert not recomputable_bn(nn.SyncBatchNorm(4))


def test_exported_from_utils():
    from wsol_mm.models import utils
    assert utils.bn_relu_recomputed is bn_relu_recomputed and 'bn_relu_recomputed' in utils.__all__
