"""``CAMLocalizer(contiguous_modules=...)``: the named layers of a channels-last model get a
contiguous (NCHW) input in float32, the same one as before under autocast, and the step's
losses and gradients do not change."""
import copy

import pytest
import torch

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()

SIZE = 64


def _model(names=(), dtype=torch.float32):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='CAMLocalizer', contiguous_modules=names,
        data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
        backbone=dict(type='ResNetCAM', depth=18),
        # no dropout: its masks are drawn in memory order, so they differ between orders
        head=dict(type='ConvClassMapHead', num_classes=4, in_channels=512, mid_channels=32,
                  dropout=0.0))).to(dtype).train()


def _inputs(dtype=torch.float32):
    x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=dtype)
    return x.contiguous(memory_format=torch.channels_last)


def _orders(model, inputs, autocast=False):
    """Memory order of the inputs of head.conv1 / head.conv2 in one forward pass."""
    seen = {}

    def spy(name):
        def hook(module, args):
            seen[name] = 'nchw' if args[0].is_contiguous() else 'channels_last'
        return hook
    handles = [model.head.conv1.register_forward_pre_hook(spy('conv1')),
               model.head.conv2.register_forward_pre_hook(spy('conv2'))]
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
        model.head.forward_maps(model.extract_feat(inputs))
    for handle in handles:
        handle.remove()
    return seen


def test_named_layer_and_the_layers_after_it_run_nchw():
    inputs = _inputs()
    assert _orders(_model(), inputs) == dict(conv1='channels_last', conv2='channels_last')
    switched = _model(['head.conv1'])
    assert _orders(switched, inputs) == dict(conv1='nchw', conv2='nchw')
    # a deep copy (EMA, model soups) keeps the switch
    assert _orders(copy.deepcopy(switched), inputs) == dict(conv1='nchw', conv2='nchw')


def test_autocast_keeps_channels_last():
    """bfloat16 convolutions are as fast or faster in channels-last: no switch there."""
    orders = _orders(_model(['head.conv1']), _inputs(), autocast=True)
    assert orders == dict(conv1='channels_last', conv2='channels_last')


def test_only_cpu_tensors_are_switched():
    """The switch rests on oneDNN measurements: other devices keep their order."""
    from wsol_mm.models.utils.memory_format import _contiguous_args
    cpu = torch.empty(1, 4, 3, 3).contiguous(memory_format=torch.channels_last)
    meta = torch.empty(1, 4, 3, 3, device='meta').contiguous(memory_format=torch.channels_last)
    assert _contiguous_args(None, (cpu, 1))[0].is_contiguous()
    assert _contiguous_args(None, (meta, 1)) is None


def test_same_losses_and_gradients():
    """float64: the two orders only sum in another order (~1e-16 relative per operation)."""
    results = []
    for names in ((), ['head.conv1']):
        model = _model(names, torch.float64)
        losses = model.loss(_inputs(torch.float64), _samples())
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        results.append((losses, {n: p.grad for n, p in model.named_parameters()}))
    (l0, g0), (l1, g1) = results
    assert l0.keys() == l1.keys()
    for key in l0:
        torch.testing.assert_close(l1[key], l0[key], rtol=1e-9, atol=1e-12)
    assert g0.keys() == g1.keys() and len(g0) > 10
    for name in g0:
        scale = g0[name].abs().max().clamp_min(1e-12)
        assert (g1[name] - g0[name]).abs().max() <= 1e-9 * scale, name


def test_state_dict_is_unchanged():
    assert _model().state_dict().keys() == _model(['head.conv1']).state_dict().keys()


def _samples():
    from wsol_mm.structures import WSOLDataSample
    samples = []
    for i in range(2):
        sample = WSOLDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        sample.set_gt_label(i)
        samples.append(sample)
    return samples


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match=r"model.contiguous_modules.*'head.conv9'"):
        _model(['head.conv9'])
    with pytest.raises(TypeError, match='model.contiguous_modules'):
        _model('head.conv1')
