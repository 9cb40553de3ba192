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
