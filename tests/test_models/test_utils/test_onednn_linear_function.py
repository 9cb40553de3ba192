"""onednn_linear: F.linear's values and gradients through oneDNN, and when it steps aside."""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models.backbones import Conformer, VisionTransformer
from wsol_mm.models.utils import onednn_linear_function as module
from wsol_mm.models.utils.cls_attention import block_with_cls_attention
from wsol_mm.models.utils.onednn_linear_function import onednn_linear

needs_onednn = pytest.mark.skipif(module._LINEAR is None, reason='torch without oneDNN linear')


@pytest.fixture(autouse=True)
def onednn_preferred(monkeypatch):
    """The oneDNN path as on an AMD Zen 5 (every product through oneDNN), whatever CPU
    runs the tests; tests of the Zen 4 choice set :data:`MKL_WEIGHT_GRAD` themselves."""
    monkeypatch.setattr(module, 'PREFERRED', True)
    monkeypatch.setattr(module, 'MKL_WEIGHT_GRAD', False)


@pytest.mark.parametrize('vendor, flags, preferred', [
    ('AuthenticAMD', 'fpu avx2 avx512f avx512_bf16', True),   # Zen 4, Zen 5
    ('AuthenticAMD', 'fpu avx2 fma', False),                  # Zen 3: AVX2 only
    ('AuthenticAMD', 'fpu avx2 avx512fx', False),             # a whole flag, not a prefix
    ('GenuineIntel', 'fpu avx2 avx512f amx_tile', False),
    ('', 'fpu avx512f', True), ('HygonGenuine', 'avx512f', True),
    ('AuthenticAMD', '', False),                               # flags unknown: torch's path
])
def test_onednn_is_preferred_off_intel_with_avx512(vendor, flags, preferred):
    """MKL's AVX-512 GEMM beat oneDNN's on a Xeon and MKL's AVX2 code beat oneDNN's AVX2
    kernels on a Zen 3; MKL's AVX2 code lost to oneDNN's AVX-512 on Zen 4 and Zen 5."""
    assert module.prefers_onednn(vendor, flags) is preferred


@pytest.mark.parametrize('vendor, family, mkl', [('AuthenticAMD', '25', True),
                                                 ('AuthenticAMD', '23', True),
                                                 ('AuthenticAMD', '26', False),
                                                 ('AuthenticAMD', '', False),
                                                 ('GenuineIntel', '6', False),
                                                 ('', '', False)])
def test_mkl_weight_gradients_up_to_zen_4(vendor, family, mkl):
    """MKL's AVX2 GEMM beat oneDNN's for qkv / proj / fc1 weight gradients on a Zen 4,
    whose AVX-512 units are half as wide; not on a Zen 5 (family 26)."""
    assert module.weight_grad_prefers_mkl(vendor, family) is mkl


@needs_onednn
def test_not_preferred_is_layer_call(monkeypatch):
    """Where oneDNN is not preferred (an Intel CPU), the layer's own call, same values."""
    layer = _layer(64, 48)
    x = torch.randn(3, 64, requires_grad=True)
    monkeypatch.setattr(module, 'PREFERRED', False)
    out = onednn_linear(layer, x)
    assert 'OneDNNLinearFunctionBackward' not in _ops(out)
    assert torch.equal(out, layer(x))


def _layer(k: int, n: int, bias: bool = True) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(k, n, bias=bias)
    with torch.no_grad():
        layer.weight.normal_(0, k**-0.5)
        if bias:
            layer.bias.normal_()
    return layer


def _ops(out: torch.Tensor, depth: int = 3) -> set:
    """Names of the autograd nodes within ``depth`` steps of ``out``."""
    names, level = set(), [out.grad_fn]
    for _ in range(depth):
        level = [fn for fn in level if fn is not None]
        names.update(fn.name() for fn in level)
        level = [nxt for fn in level for nxt, _ in fn.next_functions]
    return names


def _bound(x: torch.Tensor, w: torch.Tensor, b) -> torch.Tensor:
    """Float32 GEMM error bound ``K u sum_k |x_k w_k| + u |b|`` (u = 2^-24), doubled."""
    u, k = 2.0**-24, x.shape[-1]
    mag = x.abs().double() @ w.abs().double().t()
    if b is not None:
        mag = mag + b.abs().double()
    return 2 * (k + 2) * u * mag


@needs_onednn
@pytest.mark.parametrize('mkl', [False, True])
@pytest.mark.parametrize('shape,k,n,bias', [((3, 197), 384, 1152, True),
                                            ((50, ), 1536, 384, True),
                                            ((2, 5), 64, 48, False),
                                            ((40, ), 96, 96, True)])
def test_values_and_gradients_within_float32_gemm_error(shape, k, n, bias, mkl, monkeypatch):
    monkeypatch.setattr(module, 'MKL_WEIGHT_GRAD', mkl)
    layer = _layer(k, n, bias)
    x = torch.randn(*shape, k, requires_grad=True)
    out = onednn_linear(layer, x)
    assert 'OneDNNLinearFunctionBackward' in _ops(out)
    assert out.shape == (*shape, n)
    grad = torch.randn_like(out)
    out.backward(grad)
    # the exact products in float64, against the float32 GEMM bound of each element
    x64, w64, g64 = x.detach().double(), layer.weight.detach().double(), grad.double()
    ref = x64 @ w64.t() + (layer.bias.detach().double() if bias else 0)
    assert ((out.detach().double() - ref).abs() <= _bound(x, layer.weight, layer.bias)).all()
    gx, g2 = g64.reshape(-1, n), x64.reshape(-1, k)
    ref_gx = (gx @ w64).reshape(x.shape)
    bound_gx = _bound(grad.reshape(-1, n), layer.weight.t(), None).reshape(x.shape)
    assert ((x.grad.double() - ref_gx).abs() <= bound_gx).all()
    ref_gw = gx.t() @ g2
    bound_gw = _bound(grad.reshape(-1, n).t(), x.detach().reshape(-1, k).t(), None)
    assert ((layer.weight.grad.double() - ref_gw).abs() <= bound_gw).all()
    if bias:
        torch.testing.assert_close(layer.bias.grad.double(), gx.sum(0), rtol=1e-5, atol=1e-4)
    else:
        assert layer.bias is None


@needs_onednn
@pytest.mark.parametrize('k,n,frozen,mkl,kept', [(384, 1152, False, False, (384, 10)),
                                                 (1536, 384, False, False, (10, 1536)),
                                                 (384, 384, False, False, (10, 384)),
                                                 (384, 1152, True, False, None),
                                                 (384, 1152, False, True, (10, 384)),
                                                 (384, 384, False, True, (10, 384)),
                                                 (1536, 384, False, True, (10, 1536)),
                                                 (384, 1152, True, True, None)])
def test_keeps_only_the_input_layout_the_weight_gradient_reads(k, n, frozen, mkl, kept,
                                                               monkeypatch):
    """x^T (made in the forward pass) where oneDNN's weight gradient reads it, x where
    MKL's (``mkl``: layers that do not narrow) or the untransposed product reads it, and no
    input at all for a frozen weight (the input gradient needs only the weight)."""
    monkeypatch.setattr(module, 'MKL_WEIGHT_GRAD', mkl)
    onednn_calls, onednn_weight_grad = [], module._weight_grad
    monkeypatch.setattr(module, '_weight_grad',
                        lambda *a, **kw: onednn_calls.append(1) or onednn_weight_grad(*a, **kw))
    layer = _layer(k, n).requires_grad_(not frozen)
    x = torch.randn(10, k, requires_grad=True)
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = onednn_linear(layer, x)
    inputs = [t for t in saved if t.dim() == 2 and t.shape != layer.weight.shape]
    assert [tuple(t.shape) for t in inputs] == ([] if kept is None else [kept])
    assert all(t.is_contiguous() for t in inputs)
    grad = torch.randn_like(out)
    out.backward(grad)
    torch.testing.assert_close(x.grad, grad @ layer.weight.detach(), rtol=1e-5, atol=1e-4)
    if not frozen:
        torch.testing.assert_close(layer.weight.grad, grad.t() @ x.detach(), rtol=1e-5,
                                   atol=1e-4)
    # oneDNN's weight gradient runs unless the weight is frozen or MKL's takes the layer
    assert len(onednn_calls) == (0 if frozen or (mkl and k <= n) else 1)


@needs_onednn
def test_frozen_layer_and_inference_paths():
    layer = _layer(32, 16)
    layer.requires_grad_(False)
    x = torch.randn(4, 32, requires_grad=True)
    out = onednn_linear(layer, x)
    out.sum().backward()
    assert layer.weight.grad is None
    torch.testing.assert_close(x.grad, layer.weight.sum(0).expand(4, -1), rtol=1e-5, atol=1e-5)
    with torch.no_grad():  # no graph: the op is called directly
        plain = onednn_linear(_layer(32, 16), x)
    assert plain.grad_fn is None
    torch.testing.assert_close(plain, F.linear(x, layer.weight, layer.bias), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize('case', ['disabled', 'float64', 'autocast', 'no_onednn', 'empty'])
def test_falls_back_to_f_linear(case, monkeypatch):
    layer = _layer(16, 8)
    x = torch.randn(3, 16, requires_grad=True)
    enabled = case != 'disabled'
    if case == 'float64':
        layer, x = layer.double(), x.detach().double().requires_grad_()
    if case == 'no_onednn':
        monkeypatch.setattr(module, '_LINEAR', None)
    if case == 'empty':
        x = torch.randn(0, 16, requires_grad=True)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=case == 'autocast'):
        out = onednn_linear(layer, x, enabled)
        ref = F.linear(x, layer.weight, layer.bias)
    assert _ops(out) == _ops(ref)
    assert 'OneDNNLinearFunctionBackward' not in _ops(out)
    assert out.dtype == ref.dtype
    assert torch.equal(out, ref)


@needs_onednn
def test_vision_transformer_switch_and_equal_outputs():
    torch.manual_seed(0)
    on = VisionTransformer('deit_t', img_size=32, drop_path_rate=0.0)
    off = copy.deepcopy(on)
    off.onednn_linear = False
    x = torch.randn(2, 3, 32, 32)
    grads = []
    for model in (on, off):
        fmap, rows = model(x)
        (fmap.square().mean() + rows.sum()).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
        if model is on:
            out_on = (fmap.detach(), rows.detach())
    # float32 noise of 12 blocks of 192-wide products
    torch.testing.assert_close(out_on[0], fmap.detach(), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(out_on[1], rows.detach(), rtol=1e-4, atol=1e-6)
    for name, g in grads[0].items():
        torch.testing.assert_close(g, grads[1][name], rtol=1e-3, atol=1e-5, msg=name)


@needs_onednn
def test_block_uses_onednn_for_its_four_layers(monkeypatch):
    block = VisionTransformer('deit_t', img_size=32).blocks[0]
    calls = []
    real = module._dense

    def spy(x, w, b):
        calls.append(tuple(w.shape))
        return real(x, w, b)

    monkeypatch.setattr(module, '_dense', spy)
    x = torch.randn(2, 5, 192)
    block_with_cls_attention(block, x, 192**-0.5, onednn=False)
    assert calls == []
    block_with_cls_attention(block, x, 192**-0.5)
    assert sorted(calls) == sorted([(576, 192), (192, 192), (768, 192), (192, 768)])


@needs_onednn
@pytest.mark.parametrize('on', [True, False])
def test_conformer_switch(on, monkeypatch):
    calls = []
    real = module._dense
    monkeypatch.setattr(module, '_dense', lambda x, w, b: calls.append(1) or real(x, w, b))
    model = Conformer('small', depth=3, drop_path_rate=0.0, onednn_linear=on).eval()
    with torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    # 3 transformer blocks x (qkv, proj, fc1, fc2)
    assert len(calls) == (12 if on else 0)


class _Scaled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


@pytest.mark.parametrize('case', ['subclass', 'forward_hook', 'pre_hook', 'backward_hook'])
def test_hooks_and_subclasses_run_their_own_forward(case):
    layer = _Scaled(8, 4) if case == 'subclass' else _layer(8, 4)
    seen = []
    if case == 'forward_hook':
        layer.register_forward_hook(lambda m, i, o: seen.append('forward') or o + 1)
    elif case == 'pre_hook':
        layer.register_forward_pre_hook(lambda m, i: seen.append('pre'))
    elif case == 'backward_hook':
        layer.register_full_backward_hook(lambda m, gi, go: seen.append('backward'))
    x = torch.randn(3, 8, requires_grad=True)
    out = onednn_linear(layer, x)
    out.sum().backward()
    ref = layer(x.detach())  # the module call: hooks included
    torch.testing.assert_close(out.detach(), ref.detach())
    assert 'OneDNNLinearFunctionBackward' not in _ops(out)
    assert seen[:1] == {'subclass': [], 'forward_hook': ['forward'], 'pre_hook': ['pre'],
                        'backward_hook': ['backward']}[case]
