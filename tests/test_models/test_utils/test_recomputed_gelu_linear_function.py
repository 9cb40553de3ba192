"""GELU + linear with the GELU output recomputed in the backward pass: the modules' values
and gradients, what it keeps, and where a transformer block takes it."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models.backbones import VisionTransformer
from wsol_mm.models.utils import onednn_linear_function as onednn
from wsol_mm.models.utils.cls_attention import block_with_cls_attention
from wsol_mm.models.utils.recomputed_gelu_linear_function import (
    gelu_linear_recomputed,
    recomputable_gelu_linear,
)

needs_onednn = pytest.mark.skipif(onednn._LINEAR is None, reason='torch without oneDNN linear')


@pytest.fixture(autouse=True)
def onednn_preferred(monkeypatch):
    """The oneDNN path as on an AMD CPU, whatever CPU runs the tests."""
    monkeypatch.setattr(onednn, 'PREFERRED', True)


@needs_onednn
@pytest.mark.parametrize('approximate', ['none', 'tanh'])
@pytest.mark.parametrize('bias', [True, False])
def test_values_and_gradients_of_the_modules(approximate, bias):
    torch.manual_seed(0)
    act, layer = nn.GELU(approximate=approximate), nn.Linear(96, 24, bias=bias)
    h0 = torch.randn(2, 7, 96) * 2
    results = []
    for fn in (lambda h: gelu_linear_recomputed(act, layer, h),
               lambda h: F.linear(act(h), layer.weight, layer.bias)):
        layer.zero_grad(set_to_none=True)
        h = h0.clone().requires_grad_()
        out = fn(h)
        out.square().sum().backward()
        results.append([out, h.grad, layer.weight.grad] + ([layer.bias.grad] if bias else []))
    assert results[0][0].shape == (2, 7, 24)
    # oneDNN's and MKL's GEMMs sum in different orders (float32, 96 / 14 terms)
    for a, b in zip(*results):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.detach().abs().max()))


@needs_onednn
def test_keeps_the_pre_activation_only(saved_bytes):
    """The GELU output (the size of ``h``) is not kept: saved bytes drop by it."""
    act, layer = nn.GELU(), nn.Linear(64, 16)
    h = torch.randn(50, 64, requires_grad=True)
    recomputed, _ = saved_bytes(lambda t: gelu_linear_recomputed(act, layer, t), h)
    modules, _ = saved_bytes(lambda t: onednn.onednn_linear(layer, act(t)), h)
    assert recomputed == h.numel() * 4 + layer.weight.numel() * 4
    assert modules - recomputed == h.numel() * 4  # gelu(h), kept by the module path


@needs_onednn
def test_frozen_weight_and_input_without_gradient():
    torch.manual_seed(1)
    act, layer = nn.GELU(), nn.Linear(32, 8)
    layer.weight.requires_grad_(False)
    h = torch.randn(5, 32, requires_grad=True)
    gelu_linear_recomputed(act, layer, h).sum().backward()
    ref = h.detach().clone().requires_grad_()
    F.linear(act(ref), layer.weight, layer.bias).sum().backward()
    assert layer.weight.grad is None
    torch.testing.assert_close(h.grad, ref.grad, rtol=1e-4, atol=1e-5)
    layer.weight.requires_grad_(True)
    gelu_linear_recomputed(act, layer, h.detach()).sum().backward()  # weight only
    assert layer.weight.grad is not None and layer.weight.grad.shape == (8, 32)


@needs_onednn
@pytest.mark.parametrize('case', ['ok', 'hook', 'relu', 'no_grad', 'disabled', 'double',
                                  'not_preferred'])
def test_when_it_applies(case, monkeypatch):
    act = nn.ReLU() if case == 'relu' else nn.GELU()
    layer = nn.Linear(8, 4).double() if case == 'double' else nn.Linear(8, 4)
    h = torch.randn(3, 8, dtype=torch.float64 if case == 'double' else torch.float32)
    if case == 'hook':
        act.register_forward_hook(lambda m, i, o: o)
    if case == 'not_preferred':
        monkeypatch.setattr(onednn, 'PREFERRED', False)
    with torch.set_grad_enabled(case != 'no_grad'):
        assert recomputable_gelu_linear(act, layer, h, case != 'disabled') is (case == 'ok')


@needs_onednn
@pytest.mark.parametrize('drop', [0.0, 0.2])
def test_block_takes_it_where_its_dropout_is_off(drop):
    torch.manual_seed(0)
    block = VisionTransformer('deit_t', img_size=32, drop_path_rate=0.0).blocks[0].train()
    block.mlp.drop1.p = drop
    x = torch.randn(2, 5, 192)
    out, _ = block_with_cls_attention(block, x, 192**-0.5, with_row=False)
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(n for n, _ in node.next_functions)
    names = {type(node).__name__ for node in seen}
    assert ('RecomputedGeluLinearFunctionBackward' in names) is (drop == 0.0)
    assert ('GeluBackward0' in names) is (drop > 0.0)
