import pytest
import torch

from wsol_mm.models import CAMHead, ResNetCAM


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_resnet50_strides(large, size, meta_forward):
    # wsolevaluation: layer4 stride 1, layer3 stride 2 (1 with large map) -> 1/16 or 1/8.
    m, out = meta_forward(ResNetCAM, depth=50, large_feature_map=large)
    assert m.out_channels == 2048
    assert out[-1].shape == (1, 2048, size, size)
    assert m.layer4[0].conv2.stride == (1, 1) and m.layer4[0].downsample[0].stride == (1, 1)


def test_resnet50_param_count():
    # torchvision ResNet50 minus its fc (2048 * 1000 + 1000).
    assert sum(p.numel() for p in ResNetCAM(depth=50).parameters()) == 25_557_032 - 2_049_000


def test_head_keeps_pretrained_fc(tmp_path, tv_models):
    tv = tv_models.resnet18(weights=None)
    path = tmp_path / 'resnet18.pth'
    torch.save(tv.state_dict(), path)
    backbone = ResNetCAM(depth=18, pretrained=str(path))
    assert torch.equal(backbone.stem[0].weight, tv.conv1.weight)
    head = CAMHead(num_classes=1000, in_channels=512, pretrained=str(path),
                   pretrained_arch='resnet18')
    assert torch.equal(head.fc.weight, tv.fc.weight) and torch.equal(head.fc.bias, tv.fc.bias)
    head.init_weights()  # must not re-initialise the loaded classifier
    assert torch.equal(head.fc.weight, tv.fc.weight)
    with pytest.raises(ValueError, match='fc.weight'):
        CAMHead(num_classes=200, in_channels=512, pretrained=str(path),
                pretrained_arch='resnet18')



@pytest.mark.parametrize('cls_name, kwargs', [
    ('ResNetCAM', {}), ('ResNetCAM', dict(depth=18)), ('ResNetCAM', dict(large_feature_map=True)),
    ('ResNetCAM', dict(adl=dict(drop_rate=0.5, drop_threshold=0.8))),
    ('ResNetBridCAM', {}), ('ResNetSPGCAM', {})])
def test_recompute_bn_relu_same_values_gradients_and_statistics(cls_name, kwargs,
                                                                assert_same_training):
    """Inner ReLU outputs recomputed in the backward pass: outputs, running statistics and
    gradients as torchvision's blocks up to float rounding, twice in a row."""
    from wsol_mm.models import backbones
    from wsol_mm.models.utils import method_rng
    torch.manual_seed(0)
    on = getattr(backbones, cls_name)(**kwargs).train()
    off = getattr(backbones, cls_name)(recompute_bn_relu=False, **kwargs).train()
    off.load_state_dict(on.state_dict())
    assert_same_training(on, off, torch.rand(2, 3, 64, 64).contiguous(
        memory_format=torch.channels_last), before_step=lambda: method_rng().seed(1))


def test_recompute_bn_relu_keeps_no_inner_relu_output(saved_bytes):
    """The saved bytes drop by at least the stem's and the blocks' inner ReLU outputs; a
    hook on a block or on a stage runs torchvision's modules."""
    from torchvision.models.resnet import Bottleneck
    torch.manual_seed(0)
    on = ResNetCAM().train()
    off = ResNetCAM(recompute_bn_relu=False).train()
    off.load_state_dict(on.state_dict())
    x = torch.rand(2, 3, 64, 64)
    sizes = []
    probe = ResNetCAM(recompute_bn_relu=False).train()
    bns = [probe.stem[1]] + [b for m in probe.modules() if isinstance(m, Bottleneck)
                             for b in (m.bn1, m.bn2)]
    for bn in bns:
        bn.register_forward_hook(lambda m, i, o: sizes.append(o.numel() * o.element_size()))
    probe(x)
    saved_off, saved_on = saved_bytes(off, x)[0], saved_bytes(on, x)[0]
    assert len(sizes) == 1 + 2 * 16
    assert saved_off - saved_on >= sum(sizes) > 0
    calls = []
    on.layer1[0].register_forward_hook(lambda *args: calls.append('block'))
    on.layer2.register_forward_hook(lambda *args: calls.append('stage'))
    saved_hooked = saved_bytes(on, x)[0]
    assert calls == ['block', 'stage'] and saved_hooked > saved_on


def test_recompute_bn_relu_leaves_other_blocks_alone():
    """A block that is not torchvision's (here a replaced one) runs as it is."""
    import torch.nn as nn
    model = ResNetCAM(depth=18).train()
    model.layer4[1] = nn.Identity()
    out = model(torch.rand(2, 3, 64, 64))[0]
    assert out.shape == (2, 512, 4, 4)
