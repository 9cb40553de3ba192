"""Trunks of wsolevaluation's ACoL / SPG networks: shapes, wiring, pretrained renames, lr groups."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models import (
    VGG16SPGCAM,
    InceptionV3CAM,
    InceptionV3SPGCAM,
    ResNetCAM,
    ResNetSPGCAM,
    VGG16ACoLCAM,
)


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_vgg16_acol_shapes_and_pools(large, size, meta_forward, tv_models):
    model, out = meta_forward(VGG16ACoLCAM, large_feature_map=large)
    assert out[-1].shape == (1, 512, size, size) and model.out_channels == 512
    pools = [(i, m.kernel_size, m.stride, m.padding) for i, m in enumerate(model.features)
             if isinstance(m, nn.MaxPool2d)]
    # VGG16's pool positions; 3x3 pools, stride 2 ('M1') or 1 ('M2': last, and pool4 at 28x28)
    assert pools == [(4, 3, 2, 1), (9, 3, 2, 1), (16, 3, 2, 1), (23, 3, 1 if large else 2, 1),
                     (30, 3, 1, 1)]
    # conv indices are torchvision's, so its weights load unchanged
    with torch.device('meta'):
        ref = tv_models.vgg16(weights=None).features.state_dict()
    assert set(model.state_dict()) == {f'features.{k}' for k in ref}


def test_vgg16_acol_average_pool_and_pretrained(tmp_path):
    torch.manual_seed(0)
    net = VGG16ACoLCAM().eval()
    x = torch.rand(1, 3, 32, 32)
    assert torch.allclose(net(x)[0], F.avg_pool2d(net.features(x), 3, 1, 1))
    path = tmp_path / 'vgg16.pth'
    torch.save(dict(net.state_dict(), **{'classifier.0.weight': torch.zeros(2, 2)}), path)
    loaded = VGG16ACoLCAM(pretrained=str(path))
    assert torch.equal(loaded.features[28].weight, net.features[28].weight)


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_vgg16_spg_shapes(large, size, meta_forward):
    model, (b1, b2, final) = meta_forward(VGG16SPGCAM, large_feature_map=large)
    assert b1.shape == b2.shape == final.shape == (1, 512, size, size)
    assert len(model.features) == 17 and len(model.SPG_A_1) == len(model.SPG_A_2) == 6


def test_vgg16_spg_wiring_and_pretrained_renames(tmp_path):
    torch.manual_seed(0)
    net = VGG16SPGCAM().eval()
    x = torch.rand(1, 3, 64, 64)
    b1, b2, final = net(x)
    assert b2 is final  # B2 and the head read the conv5 map
    assert torch.allclose(b1, F.max_pool2d(net.SPG_A_1(net.features(x)), 3, 2, 1))
    assert torch.allclose(b2, net.SPG_A_2(b1))
    # a torchvision-named file: conv4 / conv5 land in SPG_A_1 / SPG_A_2
    renames = {'SPG_A_1.0': 'features.17', 'SPG_A_1.2': 'features.19',
               'SPG_A_1.4': 'features.21', 'SPG_A_2.0': 'features.24',
               'SPG_A_2.2': 'features.26', 'SPG_A_2.4': 'features.28'}
    state = {}
    for key, value in net.state_dict().items():
        prefix, _, leaf = key.rpartition('.')
        state[f'{renames.get(prefix, prefix)}.{leaf}'] = value
    path = tmp_path / 'vgg16.pth'
    torch.save(state, path)
    loaded = VGG16SPGCAM(pretrained=str(path))
    for ours, theirs in renames.items():
        assert torch.equal(loaded.state_dict()[f'{ours}.weight'], state[f'{theirs}.weight'])


def test_lr_groups_as_wsolevaluation():
    vgg_spg, vgg_acol = VGG16SPGCAM(), VGG16ACoLCAM()
    # VGG: only names with `features.` at the base lr (the renamed conv4/conv5 are not)
    assert not vgg_spg.is_classifier_param('features.0.weight')
    assert vgg_spg.is_classifier_param('SPG_A_1.0.weight')
    assert vgg_spg.is_classifier_param('SPG_A_2.4.bias')
    assert not vgg_acol.is_classifier_param('features.28.weight')
    assert ResNetSPGCAM(depth=18).is_classifier_param('layer4.0.conv1.weight')
    assert not ResNetSPGCAM(depth=18).is_classifier_param('layer3.0.conv1.weight')


def test_resnet_spg_wiring_equals_resnet_cam():
    torch.manual_seed(0)
    spg = ResNetSPGCAM(depth=18).eval()
    cam = ResNetCAM(depth=18).eval()
    cam.load_state_dict(spg.state_dict())  # same parameter names
    x = torch.rand(1, 3, 64, 64)
    b1, b2, final = spg(x)
    assert torch.allclose(final, cam(x)[0], atol=1e-6)
    assert torch.allclose(b1, spg.layer3[0](spg.layer2(spg.layer1(spg.stem(x)))))
    assert torch.allclose(b2, spg.layer3[1:](b1)) and torch.allclose(final, spg.layer4(b2))
    with torch.device('meta'):
        shapes = [tuple(f.shape) for f in ResNetSPGCAM(depth=50, large_feature_map=True)(
            torch.empty(1, 3, 224, 224))]
    assert shapes == [(1, 1024, 28, 28), (1, 1024, 28, 28), (1, 2048, 28, 28)]


@pytest.mark.parametrize('large', [False, True])
def test_inception_spg_wiring_equals_inception_cam(large):
    torch.manual_seed(0)
    spg = InceptionV3SPGCAM(large_feature_map=large).eval()
    cam = InceptionV3CAM(large_feature_map=large).eval()
    cam.load_state_dict(spg.state_dict())
    x = torch.rand(1, 3, 64, 64)
    b1, b2, final = spg(x)
    assert torch.allclose(final, cam(x)[0], atol=1e-5)
    assert b1.shape[1] == 288 and b2.shape[1] == 768
    # B2 reads the Mixed_6d output (the input of Mixed_6e), as released
    assert torch.allclose(spg.Mixed_6e(b2), final)
    assert torch.allclose(spg.Mixed_6d(spg.Mixed_6c(spg.Mixed_6b(spg.Mixed_6a(b1)))), b2)
    assert b1.shape[-1] == (4 if not large else 8)  # the extra pool comes before B1
