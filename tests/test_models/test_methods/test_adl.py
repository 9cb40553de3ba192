"""ADL: the released importance-map / drop-mask switch and where the layers sit."""
import pytest
import torch
import torch.nn as nn

from wsol_mm.models import (
    VGG16CAM,
    ADLConvClassMapHead,
    AttentionBasedDropout,
    ConvClassMapHead,
    InceptionV3CAM,
    ResNetCAM,
)
from wsol_mm.registry import MODELS

ADL = dict(drop_rate=0.75, drop_threshold=0.9)


def _two_images() -> torch.Tensor:
    # image 0: channel mean [[2, 2], [2, 6]]; image 1: [[1, 0], [0, 0.5]]
    x = torch.tensor([[[[1., 2.], [3., 4.]], [[3., 2.], [1., 8.]]],
                      [[[2., 0.], [0., 1.]], [[0., 0.], [0., 0.]]]], dtype=torch.float64)
    return x.requires_grad_(True)


def test_drop_mask_hand_computed(fixed_draws):
    adl = AttentionBasedDropout(**ADL).train()
    adl.rng = fixed_draws(random=[0.25])  # floor(0.25 + 0.75) = 1 -> drop mask
    x = _two_images()
    # thresholds 0.9 * max: 5.4 and 0.9 (strict <): the maximum of each image is dropped
    mask = torch.tensor([[[[1., 1.], [1., 0.]]], [[[0., 1.], [1., 1.]]]], dtype=torch.float64)
    out = adl(x)
    assert torch.equal(out, x * mask) and adl.rng.calls == ['random']
    out.sum().backward()
    assert torch.equal(x.grad, mask.expand_as(x))  # the mask carries no gradient


def test_importance_map_hand_computed(fixed_draws):
    adl = AttentionBasedDropout(**ADL).train()
    adl.rng = fixed_draws(random=[0.2])  # floor(0.95) = 0 -> importance map
    x = _two_images()
    att = torch.tensor([[[[2., 2.], [2., 6.]]], [[[1., 0.], [0., 0.5]]]], dtype=torch.float64)
    sig = torch.sigmoid(att)
    out = adl(x)
    assert torch.allclose(out, x * sig, rtol=1e-15, atol=0)
    out.sum().backward()
    # d/dx_c of sum_k x_k sigmoid(mean(x)) = sigmoid + sum_k x_k * sigmoid' / C
    grad = sig + x.detach().sum(1, keepdim=True) * sig * (1 - sig) / 2
    assert torch.allclose(x.grad, grad.expand_as(x), rtol=1e-12, atol=0)


def test_switch_probability_and_eval(fixed_draws):
    assert not AttentionBasedDropout(drop_rate=0.0).uses_drop_mask(0.999)
    assert AttentionBasedDropout(drop_rate=1.0).uses_drop_mask(0.0)
    assert AttentionBasedDropout(drop_rate=0.75).uses_drop_mask(0.25)
    assert not AttentionBasedDropout(drop_rate=0.75).uses_drop_mask(0.2499)
    adl = AttentionBasedDropout().eval()
    adl.rng = fixed_draws()
    x = torch.rand(2, 3, 4, 4)
    assert adl(x) is x and adl.rng.calls == []
    with pytest.raises(ValueError, match='adl'):
        AttentionBasedDropout(drop_threshold=1.5)


def _trace(model: nn.Module, names) -> list:
    """Names of the given sub-modules in the order they run."""
    order, handles = [], []
    for name, module in model.named_modules():
        if name in names:
            handles.append(module.register_forward_hook(
                lambda m, i, o, name=name: order.append(name)))
    return order, handles


def test_resnet50_positions():
    with torch.device('meta'):  # shapes only: the real layer code, no arithmetic
        plain, adl = ResNetCAM(depth=50), ResNetCAM(depth=50, adl=ADL)
        assert list(plain.state_dict()) == list(adl.state_dict())  # parameter-free
        names = {f'layer{s}.{b}' for s, n in ((3, 6), (4, 3)) for b in range(n)} | \
            {f'adl_layers.{k}' for k in adl.adl_layers}
        order, _ = _trace(adl, names)
        adl.train()(torch.rand(1, 3, 32, 32))
    # released _ADL_POSITION [[], [], [], [0], [0, 2]]
    assert order == ['layer3.0', 'adl_layers.layer3_0', 'layer3.1', 'layer3.2', 'layer3.3',
                     'layer3.4', 'layer3.5', 'layer4.0', 'adl_layers.layer4_0', 'layer4.1',
                     'layer4.2', 'adl_layers.layer4_2']


def test_eval_mode_is_the_plain_model():
    torch.manual_seed(0)
    plain = ResNetCAM(depth=18).double().eval()
    adl = ResNetCAM(depth=18, adl=ADL, adl_positions=dict(layer3=(0, 1), layer4=(1, )))
    adl.double().eval().load_state_dict(plain.state_dict())
    x = torch.rand(1, 3, 16, 16, dtype=torch.float64)
    assert torch.allclose(adl(x)[0], plain(x)[0], rtol=1e-14, atol=0)


def test_resnet_train_mode_from_fixed_draws(fixed_draws):
    torch.manual_seed(0)
    model = ResNetCAM(depth=18, adl=ADL, adl_positions=dict(layer3=(0, ), layer4=(0, 1)))
    model = model.double().train()
    draws = fixed_draws(random=[0.9, 0.1, 0.5])  # drop, importance, drop
    for layer in model.adl_layers.values():
        layer.rng = draws
    x = torch.rand(2, 3, 16, 16, dtype=torch.float64)
    out = model(x)[0]

    def drop(f):
        att = f.mean(1, keepdim=True)
        return f * (att < 0.9 * att.amax((2, 3), keepdim=True))

    def importance(f):
        return f * torch.sigmoid(f.mean(1, keepdim=True))

    f = model.layer2(model.layer1(model.stem(x)))
    f = drop(model.layer3[0](f))
    f = importance(model.layer4[0](model.layer3[1](f)))
    expected = drop(model.layer4[1](f))
    assert torch.allclose(out, expected, rtol=1e-12, atol=1e-12)
    assert draws.calls == ['random'] * 3


@pytest.mark.parametrize('large, layout', [(False, 'ccMccMcccMAcccAMcccA'),
                                           (True, 'ccMccMcccMAcccAcccA')])
def test_vgg16_positions_equal_the_released_layer_lists(large, layout):
    with torch.device('meta'):
        model = VGG16CAM(large_feature_map=large, adl=ADL).eval()
        plain_keys = list(VGG16CAM(large_feature_map=large).state_dict())
    tokens = []
    for idx, module in enumerate(model.features):
        if isinstance(module, (nn.Conv2d, nn.MaxPool2d)):
            module.register_forward_hook(lambda m, i, o: tokens.append(
                'c' if isinstance(m, nn.Conv2d) else 'M'))
    for layer in model.adl_layers.values():
        layer.register_forward_hook(lambda m, i, o: tokens.append('A'))
    with torch.device('meta'):
        model(torch.rand(1, 3, 32, 32))
    # wsolevaluation configs_dict['adl'] ('14x14' / '28x28'), conv = 'c'
    assert ''.join(tokens) == layout
    assert list(model.state_dict()) == plain_keys


def test_inception_positions_and_head(fixed_draws):
    backbone = InceptionV3CAM(adl=ADL)
    order, _ = _trace(backbone, {'Mixed_5d', 'Mixed_6a', 'Mixed_6e', 'adl_layers.Mixed_5d',
                                 'adl_layers.Mixed_6e'})
    with torch.device('meta'):
        backbone.to('meta').eval()(torch.rand(1, 3, 64, 64))
    assert order == ['Mixed_5d', 'adl_layers.Mixed_5d', 'Mixed_6a', 'Mixed_6e',
                     'adl_layers.Mixed_6e']
    torch.manual_seed(0)
    head = ADLConvClassMapHead(num_classes=3, in_channels=4, mid_channels=6).double()
    plain = ConvClassMapHead(num_classes=3, in_channels=4, mid_channels=6, dropout=0.0).double()
    assert list(head.state_dict()) == list(plain.state_dict())
    plain.load_state_dict(head.state_dict())
    feats = (torch.rand(2, 4, 5, 5, dtype=torch.float64), )
    assert torch.allclose(head.eval()(feats), plain.eval()(feats), rtol=0, atol=0)
    head.train().adl.rng = fixed_draws(random=[0.5])  # drop mask before the 1x1 conv
    trunk = torch.relu(plain.conv2(torch.relu(plain.conv1(feats[0]))))
    att = trunk.mean(1, keepdim=True)
    maps = plain.cls_conv(trunk * (att < 0.9 * att.amax((2, 3), keepdim=True)))
    assert torch.allclose(head(feats), maps.mean((2, 3)), rtol=1e-12, atol=1e-12)


def test_bad_positions_and_unsupported_backbones():
    with pytest.raises(ValueError, match='layer4.2'):
        ResNetCAM(depth=18, adl=ADL)
    with pytest.raises(TypeError, match='adl'):
        MODELS.build(dict(type='ResNetBridCAM', depth=18, adl=ADL,
                          adl_positions=dict(layer4=(0, ))))
    with pytest.raises(TypeError, match='adl'):
        MODELS.build(dict(type='VGG16BridCAM', adl=ADL))
