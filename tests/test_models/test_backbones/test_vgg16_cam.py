import os

import pytest
import torch

from wsol_mm.models import VGG16CAM

os.environ.setdefault('HF_HUB_OFFLINE', '1')

# VGG16 "D" conv stack: sum of 3x3 convs (k*k*cin*cout + cout) over the 13 layers.
_CONVS = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
          (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
_STACK = sum(9 * cin * cout + cout for cin, cout in _CONVS)
_CONV6 = 9 * 512 * 1024 + 1024


def test_param_count_by_layer_list():
    assert _STACK == 14_714_688 and _CONV6 == 4_719_616
    m = VGG16CAM()
    assert sum(p.numel() for p in m.parameters()) == _STACK + _CONV6 == 19_434_304
    assert m.out_channels == 1024


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_output_shape_224(large, size, meta_forward):
    m, out = meta_forward(VGG16CAM, large_feature_map=large)
    assert isinstance(out, tuple) and out[-1].shape == (1, 1024, size, size)
    assert isinstance(m.relu, torch.nn.ReLU)  # conv6 is followed by ReLU
    pools = sum(isinstance(x, torch.nn.MaxPool2d) for x in m.features)
    assert pools == (3 if large else 4)


def test_he_fan_out_init_of_conv6():
    torch.manual_seed(0)
    m = VGG16CAM()
    # Kaiming normal, fan_out: std = sqrt(2 / (1024 * 9)).
    expected = (2 / (1024 * 9)) ** 0.5
    assert abs(m.conv6.weight.std().item() - expected) / expected < 0.02
    assert torch.all(m.conv6.bias == 0)


@pytest.mark.parametrize('large', [False, True])
def test_load_local_torchvision_weights(tmp_path, large, tv_models):
    tv = tv_models.vgg16(weights=None, init_weights=False).features
    state = {f'features.{k}': v for k, v in tv.state_dict().items()}
    # torchvision's classifier keys, kept tiny (they must be dropped, whatever their size).
    state.update({'classifier.0.weight': torch.zeros(2, 2), 'classifier.6.bias': torch.zeros(2)})
    path = tmp_path / 'vgg16.pth'
    torch.save(state, path)
    m = VGG16CAM(large_feature_map=large, pretrained=str(path))
    assert torch.equal(m.features[0].weight, tv[0].weight)
    # conv5_3 is features.28 in torchvision; without pool4 it sits at index 27.
    ours = m.features[27 if large else 28]
    assert torch.equal(ours.weight, tv[28].weight)
    assert not any(k.startswith('classifier') for k in m.state_dict())
    assert m.is_init  # init_weights() keeps the loaded weights


def test_missing_file_names_key(tmp_path):
    with pytest.raises(FileNotFoundError, match='pretrained'):
        VGG16CAM(pretrained=str(tmp_path / 'nope.pth'))


def _saved_storages(model, x) -> dict:
    """Storages autograd keeps (outside the stem's own hooks) and the loss of one pass."""
    kept = {}

    def pack(t):
        kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x)[0].square().mean()
    return kept, loss


def _pair(**kwargs):
    torch.manual_seed(0)
    on = VGG16CAM(**kwargs).train()
    off = VGG16CAM(recompute_stem=False, **kwargs).train()
    off.load_state_dict(on.state_dict())
    return on, off


@pytest.mark.parametrize('cls_name, kwargs', [
    ('VGG16CAM', {}), ('VGG16BridCAM', {}),
    ('VGG16CAM', dict(adl=dict(drop_rate=0.75, drop_threshold=0.8)))])
def test_recompute_stem_same_values_and_gradients(cls_name, kwargs):
    """The stem's ReLU output is recomputed in the backward pass: outputs and every
    gradient as without (the same operations run again), for both VGG16 backbones and
    with ADL (whose draws come after the stem)."""
    from wsol_mm.models import backbones
    from wsol_mm.models.utils.method_rng import method_rng
    cls = getattr(backbones, cls_name)
    torch.manual_seed(0)
    on = cls(**kwargs).train()
    off = cls(recompute_stem=False, **kwargs).train()
    off.load_state_dict(on.state_dict())
    x = torch.rand(2, 3, 48, 48).contiguous(memory_format=torch.channels_last)
    outs = []
    for model in (on, off):
        method_rng().seed(3)  # ADL's draws
        out = model(x)
        sum(o.square().mean() for o in out).backward()
        outs.append((out, [p.grad for p in model.parameters()]))
    for a, b in zip(outs[0][0], outs[1][0]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(outs[0][1], outs[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7 * float(b.abs().max()))


def test_recompute_stem_keeps_the_image_not_the_relu_output():
    """With recompute_stem autograd keeps no copy of conv1_1's ReLU output (64 channels at
    full size, like conv1_2's, which it keeps); without it, or with a hook on conv1_1 (which
    would run twice), it does."""
    on, off = _pair()
    x = torch.rand(2, 3, 40, 40)
    stem_out = 2 * 64 * 40 * 40 * 4
    kept_on, loss_on = _saved_storages(on, x)
    kept_off, loss_off = _saved_storages(off, x)
    full_size = list(kept_off.values()).count(stem_out)
    assert full_size == 2 and list(kept_on.values()).count(stem_out) == 1
    assert sum(kept_off.values()) - sum(kept_on.values()) >= stem_out
    loss_on.backward()  # the recomputation runs (and frees) without error
    assert on.features[0].weight.grad is not None
    calls = []
    on.features[0].register_forward_hook(lambda *args: calls.append(1))
    kept_hooked, _ = _saved_storages(on, x)
    assert list(kept_hooked.values()).count(stem_out) == 2 and len(calls) == 1
    with torch.no_grad():
        torch.testing.assert_close(on(x)[0], off(x)[0])
