"""Winograd F(4x4, 3x3) convolutions: values and gradients within the float32 bound of
the algorithm, where the layer steps aside, and what ``winograd_convs`` swaps."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config

from wsol_mm.models.layers import WinogradConv2d, is_winograd_eligible, use_winograd_convs
from wsol_mm.models.layers import winograd_conv2d as layer_module
from wsol_mm.models.utils import onednn_linear_function
from wsol_mm.models.utils import winograd_conv2d_function as wino
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules, restore_tuned_choices, tuned_choices

register_all_modules()
ROOT = osp.join(osp.dirname(__file__), '..', '..', '..')


def _ops(out: torch.Tensor) -> set:
    return {out.grad_fn.name()} if out.grad_fn is not None else set()


def _abs_bounds(monkeypatch, x, w, b, g):
    """The computation with every matrix and input replaced by its absolute value, in
    float64: each rounding of the float32 run errs by at most u times such a magnitude."""
    for name in ('INPUT_T', 'FILTER_T', 'OUTPUT_T'):
        monkeypatch.setattr(wino, name, getattr(wino, name).double().abs())
    xa = x.detach().double().abs().requires_grad_()
    wa = w.detach().double().abs().requires_grad_()
    ba = None if b is None else b.detach().double().abs().requires_grad_()
    out = wino.WinogradConv2dFunction.apply(xa, wa, ba)
    out.backward(g.double().abs())
    monkeypatch.undo()
    return out.detach(), xa.grad, wa.grad


@pytest.mark.parametrize('n,c_in,c_out,h,w,channels_last,bias,block_tiles', [
    (2, 16, 24, 28, 28, True, True, None), (3, 5, 7, 13, 10, False, True, None),
    (1, 3, 2, 3, 5, True, False, None), (2, 32, 8, 14, 14, False, False, None),
    (5, 6, 10, 9, 11, True, True, 18), (3, 4, 5, 8, 8, False, False, 1)])
@pytest.mark.parametrize('backward_chunk', [9, 6, 4])
@pytest.mark.parametrize('mkl_weight_grad', [False, True])
def test_values_and_gradients_within_the_float32_bound(monkeypatch, n, c_in, c_out, h, w,
                                                       channels_last, bias, block_tiles,
                                                       backward_chunk, mkl_weight_grad):
    # the weight gradient's products through oneDNN or (Zen 4 rule, c_in <= c_out) MKL
    monkeypatch.setattr(onednn_linear_function, 'MKL_WEIGHT_GRAD', mkl_weight_grad)
    # the backward pass's components per chunk, as wide layers get them
    monkeypatch.setattr(wino, 'BACKWARD_CHUNK_BYTES', backward_chunk * 4 * c_out * c_in)
    assert wino._backward_chunk(4 * c_out * c_in) == backward_chunk
    if block_tiles:  # images in blocks of ceil(block_tiles / tiles per image): 2, 2, 1 / 1, 1, 1
        monkeypatch.setattr(wino, 'SCRATCH_BYTES', 0)
        monkeypatch.setattr(wino, 'MIN_BLOCK_TILES', block_tiles)
        assert wino._block_images(n, ((h + 3) // 4) * ((w + 3) // 4),
                                  lambda m: dict(t=(m, 8))) == (2 if block_tiles == 18 else 1)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, c_in, h, w, generator=gen)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    weight = torch.randn(c_out, c_in, 3, 3, generator=gen) / (9 * c_in)**0.5
    b = torch.randn(c_out, generator=gen) if bias else None
    g = torch.randn(n, c_out, h, w, generator=gen)
    xs, ws = x.clone().requires_grad_(), weight.clone().requires_grad_()
    bs = None if b is None else b.clone().requires_grad_()
    out = wino.WinogradConv2dFunction.apply(xs, ws, bs)
    assert _ops(out) == {'WinogradConv2dFunctionBackward'}
    assert out.shape == (n, c_out, h, w) and out.is_contiguous(memory_format=torch.channels_last)
    out.backward(g)
    # exact values: the direct convolution in float64
    x64, w64 = x.double().requires_grad_(), weight.double().requires_grad_()
    b64 = None if b is None else b.double().requires_grad_()
    ref = F.conv2d(x64, w64, b64, padding=1)
    ref.backward(g.double())
    mag_y, mag_x, mag_w = _abs_bounds(monkeypatch, x, weight, b, g)
    # the longest chain of roundings: the GEMM's sum (C_in, C_out or N * tiles terms) plus
    # the tile transforms (6 + 6 + 4 + 4 terms); doubled
    u = 2.0**-24
    tiles = n * ((h + 3) // 4) * ((w + 3) // 4)
    for got, exact, mag, k in ((out, ref, mag_y, c_in), (xs.grad, x64.grad, mag_x, c_out),
                               (ws.grad, w64.grad, mag_w, tiles)):
        err = (got.double() - exact.detach()).abs()
        bound = 2 * (k + 20) * u * mag
        assert (err <= bound).all(), (err / bound).max()
        # not vacuous: a wrong tile or transform errs by the output's own scale
        assert bound.max() < 0.02 * exact.abs().max()
    if bias:
        torch.testing.assert_close(bs.grad.double(), b64.grad, rtol=1e-6, atol=1e-5)


def test_weight_gradient_in_the_weight_layout():
    """The gradient comes back laid out as the (contiguous) weight, so autograd keeps it
    as it is instead of copying it while the step's memory is at its peak."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 8, 12, 12, generator=gen).requires_grad_()
    weight = torch.randn(16, 8, 3, 3, generator=gen).requires_grad_()
    out = wino.WinogradConv2dFunction.apply(x, weight, None)
    grad_w, = torch.autograd.grad(out, weight, torch.ones_like(out))
    assert grad_w.shape == weight.shape and grad_w.stride() == weight.stride()
    assert wino._backward_chunk(4 * 1024 * 1024) == 4  # InceptionV3's head: 16 MiB chunks
    assert wino._backward_chunk(4 * 1024 * 512) == 6 and wino._backward_chunk(4 * 512**2) == 9


def test_only_the_requested_gradients(monkeypatch):
    monkeypatch.setattr(wino, 'SCRATCH_BYTES', 0)  # one image per block
    monkeypatch.setattr(wino, 'MIN_BLOCK_TILES', 1)
    gen = torch.Generator().manual_seed(0)
    x, weight = torch.randn(2, 4, 8, 8, generator=gen), torch.randn(6, 4, 3, 3, generator=gen)
    for needs_x, needs_w in ((False, True), (True, False)):
        xs, ws = x.clone().requires_grad_(needs_x), weight.clone().requires_grad_(needs_w)
        xr, wr = x.clone().requires_grad_(needs_x), weight.clone().requires_grad_(needs_w)
        wino.WinogradConv2dFunction.apply(xs, ws, None).square().sum().backward()
        F.conv2d(xr, wr, padding=1).square().sum().backward()
        for got, ref in ((xs.grad, xr.grad), (ws.grad, wr.grad)):
            assert (got is None) == (ref is None)
            if ref is not None:
                torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-4 * ref.abs().max())


@pytest.mark.skipif(wino._LINEAR is None, reason='torch without oneDNN dense layers')
def test_float32_input_tiles_through_onednn(monkeypatch):
    """float32 on CPU: the input transform is a oneDNN dense layer writing its own output
    (no ``tiles_in`` scratch); without oneDNN ``torch.mm`` writes into the scratch. Both
    agree with the direct convolution, forward and backward, one image per block."""
    monkeypatch.setattr(wino, 'SCRATCH_BYTES', 0)
    monkeypatch.setattr(wino, 'MIN_BLOCK_TILES', 1)
    transforms, dense = [], wino._dense

    def recorded(x, weight, bias):
        if x is wino.INPUT_T:
            transforms.append(tuple(weight.shape))
        return dense(x, weight, bias)
    monkeypatch.setattr(wino, '_dense', recorded)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 7, 6, generator=gen)
    weight = torch.randn(5, 4, 3, 3, generator=gen) / 6
    g = torch.randn(2, 5, 7, 6, generator=gen)
    xr, wr = x.double().requires_grad_(), weight.double().requires_grad_()
    ref = F.conv2d(xr, wr, padding=1)
    ref.backward(g.double())
    shapes = wino._input_shapes(1, 4, 2, 2)
    for onednn in (True, False):
        if not onednn:
            monkeypatch.setattr(wino, '_onednn', lambda t: False)
        assert ('tiles_in' in wino._scratch(x, shapes)) != onednn
        transforms.clear()
        xs, ws = x.clone().requires_grad_(), weight.clone().requires_grad_()
        out = wino.WinogradConv2dFunction.apply(xs, ws, None)
        out.backward(g)
        # per image (2 x 2 tiles of 4 channels): one in the forward, one for the weight grad
        assert transforms == ([(16, 36)] * 4 if onednn else [])
        for got, exact in ((out, ref), (xs.grad, xr.grad), (ws.grad, wr.grad)):
            torch.testing.assert_close(got.double(), exact.detach(), rtol=0,
                                       atol=1e-5 * exact.abs().max().item())


@pytest.mark.skipif(wino._LINEAR is None, reason='torch without oneDNN dense layers')
@pytest.mark.parametrize('mkl,c_in,c_out,through_mkl', [
    (True, 4, 6, True), (True, 6, 6, True), (True, 6, 4, False), (False, 4, 6, False)])
def test_weight_gradient_products_follow_the_linear_layers_rule(monkeypatch, mkl, c_in, c_out,
                                                                through_mkl):
    """Where a linear layer of ``c_in`` -> ``c_out`` features takes MKL's weight gradient
    (``weight_grad_through_mkl``: the Zen 4 flag and a layer that does not narrow), the
    Winograd weight gradient's channel products are one MKL batched product per chunk;
    elsewhere one oneDNN weight gradient per component. Both give the direct
    convolution's gradients."""
    monkeypatch.setattr(onednn_linear_function, 'MKL_WEIGHT_GRAD', mkl)
    monkeypatch.setattr(wino, 'SCRATCH_BYTES', 0)  # one image per block
    monkeypatch.setattr(wino, 'MIN_BLOCK_TILES', 1)
    calls, onednn_grad = [], wino._weight_grad

    def recorded(grad, x=None, x_t=None, out=None):
        calls.append(tuple(grad.shape))
        return onednn_grad(grad, x, x_t, out)
    monkeypatch.setattr(wino, '_weight_grad', recorded)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, c_in, 8, 5, generator=gen).requires_grad_()
    weight = (torch.randn(c_out, c_in, 3, 3, generator=gen) / 6).requires_grad_()
    g = torch.randn(2, c_out, 8, 5, generator=gen)
    wino.WinogradConv2dFunction.apply(x, weight, None).backward(g)
    # 2 images x 2 x 2 tiles: 36 components of (4 tiles, c_out) each, per image
    assert calls == ([] if through_mkl else [(4, c_out)] * 72)
    xr, wr = x.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
    F.conv2d(xr, wr, padding=1).backward(g.double())
    for got, exact in ((x.grad, xr.grad), (weight.grad, wr.grad)):
        torch.testing.assert_close(got.double(), exact, rtol=0, atol=1e-5 * exact.abs().max())


def _layer(c_in=8, c_out=16):
    torch.manual_seed(0)
    return WinogradConv2d.from_conv(nn.Conv2d(c_in, c_out, 3, padding=1))


@pytest.fixture
def winograd_wins(monkeypatch):
    """Whatever the timing on this machine, the Winograd path counts as the faster."""
    monkeypatch.setattr(layer_module, 'winograd_is_faster', lambda x, weight, bias: True)


def test_layer_steps_aside_outside_float32_cpu_training(monkeypatch, winograd_wins):
    layer = _layer()
    x = torch.randn(2, 8, 12, 12)  # 2 x 9 output tiles, fewer than MIN_TILES
    assert _ops(layer(x)) == {'ConvolutionBackward0'}  # too few tiles to gain
    monkeypatch.setattr(layer_module, 'MIN_TILES', 18)
    assert _ops(layer(x)) == {'WinogradConv2dFunctionBackward'}
    direct = F.conv2d(x, layer.weight, layer.bias, padding=1)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert 'WinogradConv2dFunctionBackward' not in _ops(layer(x))
    assert 'WinogradConv2dFunctionBackward' not in _ops(layer.double()(x.double()))
    layer.float().eval()
    out = layer(x)  # evaluation: the direct convolution
    assert _ops(out) == {'ConvolutionBackward0'}
    torch.testing.assert_close(out, direct, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('direct_s,winograd_s', [(2.0, 1.0), (1.0, 2.0), (1.0, 0.97)])
def test_the_faster_path_is_measured_once_per_shape(monkeypatch, direct_s, winograd_s):
    monkeypatch.setattr(layer_module, '_FASTER', {})
    calls = []

    def timed(runs, needs):
        calls.append(len(needs))
        for run in runs:  # both paths run on the copies
            out = run()
            torch.autograd.grad(out, needs, torch.ones_like(out))
        return [direct_s, winograd_s]
    monkeypatch.setattr(layer_module, '_fastest', timed)
    monkeypatch.setattr(layer_module, 'MIN_TILES', 1)
    layer = _layer()
    x = torch.randn(1, 8, 12, 12, requires_grad=True)
    # a near tie (within TUNE_MARGIN) keeps the direct convolution
    path = 'WinogradConv2dFunctionBackward' if winograd_s < 0.9 * direct_s else \
        'ConvolutionBackward0'
    for _ in range(2):
        out = layer(x)
        assert _ops(out) == {path}
    assert calls == [3]  # measured once, with the input, weight and bias gradients
    assert x.grad is None and layer.weight.grad is None  # the copies took the gradients
    layer(torch.randn(2, 8, 12, 12))  # another shape, no input gradient: measured again
    assert calls == [3, 2]


def test_the_measurement_draws_no_random_numbers(monkeypatch):
    monkeypatch.setattr(layer_module, '_FASTER', {})
    monkeypatch.setattr(layer_module, 'TUNE_REPS', 1)
    layer = _layer()
    x = torch.randn(4, 8, 16, 16, requires_grad=True)
    state = torch.get_rng_state()
    assert layer_module.winograd_is_faster(x, layer.weight, layer.bias) in (True, False)
    assert torch.equal(torch.get_rng_state(), state)
    assert len(layer_module._FASTER) == 1 and x.grad is None and layer.weight.grad is None


def test_timed_choices_survive_a_weights_only_checkpoint(monkeypatch, tmp_path):
    """What a resumed process restores: the stored path, without timing the shape again."""
    monkeypatch.setattr(layer_module, '_FASTER', {})
    monkeypatch.setattr(layer_module, 'MIN_TILES', 1)
    monkeypatch.setattr(layer_module, '_fastest', lambda runs, needs: [2.0, 1.0])
    layer = _layer()
    x = torch.randn(1, 8, 12, 12)
    assert _ops(layer(x)) == {'WinogradConv2dFunctionBackward'}
    torch.save(dict(meta=dict(tuned_choices=tuned_choices())), tmp_path / 'ckpt.pth')
    state = torch.load(tmp_path / 'ckpt.pth', weights_only=True)['meta']['tuned_choices']
    monkeypatch.setattr(layer_module, '_FASTER', {})  # a new process ...

    def timed(runs, needs):
        raise AssertionError('timed again')

    monkeypatch.setattr(layer_module, '_fastest', timed)  # ... whose timing would differ
    assert restore_tuned_choices(state)
    assert _ops(layer(x)) == {'WinogradConv2dFunctionBackward'}
    monkeypatch.setattr(layer_module, '_FASTER', {})
    assert not restore_tuned_choices(dict(state, cpu='another CPU'))
    assert layer_module._FASTER == {}


def test_use_winograd_convs_swaps_the_wide_convolutions_only():
    model = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1),  # swapped
                          nn.Conv2d(256, 256, 3, padding=1),  # swapped
                          nn.Conv2d(256, 256, 3, padding=1, stride=2),
                          nn.Conv2d(256, 512, 1),
                          nn.Conv2d(64, 64, 3, padding=1),  # too narrow to gain
                          nn.Conv2d(256, 256, 3, padding=1))  # hooked: stays
    model[5].register_forward_pre_hook(lambda m, a: None)
    params = [id(p) for p in model.parameters()]
    keys = list(model.state_dict())
    assert use_winograd_convs(model) == 2
    assert [type(m).__name__ for m in model] == ['WinogradConv2d'] * 2 + ['Conv2d'] * 4
    assert [id(p) for p in model.parameters()] == params
    assert list(model.state_dict()) == keys
    assert not is_winograd_eligible(model[2], min_in=1, min_out=1)
    with pytest.raises(ValueError, match='3x3, stride-1'):
        WinogradConv2d.from_conv(model[2])


def test_localizer_step_matches_the_direct_convolutions(monkeypatch, winograd_wins):
    """A VGG16 CAM training step with and without ``winograd_convs``: the same loss, and
    every swapped layer's output and gradients equal the direct convolution's on the
    same input and output gradient, up to the float rounding of F(4x4, 3x3).

    Whole-step gradients are not compared element by element: a pre-activation within
    float rounding of zero flips its ReLU in one run and not in the other (a GEMM library
    that sums in another order makes that happen on some CPUs), which moves the
    gradients below it by much more than rounding."""
    monkeypatch.setattr(layer_module, 'MIN_TILES', 1)  # every swapped layer, on 64 px
    calls = []
    winograd = layer_module.WinogradConv2dFunction

    class Recorded(winograd):
        @staticmethod
        def apply(x, weight, bias):
            out = winograd.apply(x, weight, bias)
            call = dict(x=x.detach().clone(), weight=weight, bias=bias,
                        out=out.detach().clone())  # before the in-place ReLU
            out.register_hook(lambda g: call.update(grad=g.detach().clone()))
            x.register_hook(lambda g: call.update(grad_x=g.detach().clone()))
            calls.append(call)
            return out

    monkeypatch.setattr(layer_module, 'WinogradConv2dFunction', Recorded)

    def step(winograd):
        torch.manual_seed(0)
        model = MODELS.build(dict(
            type='CAMLocalizer', winograd_convs=winograd,
            backbone=dict(type='VGG16CAM', large_feature_map=True),
            head=dict(type='CAMHead', num_classes=5, in_channels=1024))).train()
        x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
        logits = model.head.forward_maps(model.extract_feat(x)).logits
        loss = F.cross_entropy(logits, torch.tensor([1, 3]))
        loss.backward()
        swapped = sum(isinstance(m, WinogradConv2d) for m in model.modules())
        return loss.detach(), swapped
    loss, swapped = step(True)
    loss_ref, none = step(False)
    assert (swapped, none) == (10, 0) and len(calls) == 10  # conv3_1 ... conv5_3, conv6
    torch.testing.assert_close(loss, loss_ref, rtol=1e-5, atol=0)
    for call in calls:  # each layer's weight and bias serve this one call only
        x = call['x'].double().requires_grad_()
        w = call['weight'].detach().double().requires_grad_()
        b = call['bias'].detach().double().requires_grad_()
        out = F.conv2d(x, w, b, padding=1)
        out.backward(call['grad'].double())
        for got, ref in ((call['out'], out), (call['grad_x'], x.grad),
                         (call['weight'].grad, w.grad), (call['bias'].grad, b.grad)):
            torch.testing.assert_close(got.double(), ref.detach(), rtol=0,
                                       atol=1e-4 * ref.abs().max().item())


@pytest.mark.parametrize('path,count', [('configs/crop/vgg16_cub.py', 10),
                                        ('configs/cam/inception_v3_cub.py', 3),
                                        ('configs/cam/resnet50_cub.py', 9)])
# VGG16 (28x28 map): conv3_1 ... conv5_3, conv6; InceptionV3: Mixed_6a's 3x3 and the
# head's two; ResNet50: the 3x3 of the stride-1 layer3 and layer4 blocks
def test_shipped_cnn_configs_train_by_winograd(path, count):
    cfg = Config.fromfile(osp.join(ROOT, path))
    cfg.model.backbone.pretrained = None
    model = MODELS.build(cfg.model)
    assert sum(isinstance(m, WinogradConv2d) for m in model.modules()) == count
