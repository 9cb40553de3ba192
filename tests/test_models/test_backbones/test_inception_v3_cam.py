import pytest
import torch

from wsol_mm.models import InceptionV3CAM


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_param_count_equals_torchvision_trunk(tv_models):
    tv = tv_models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    # Same layers as torchvision up to Mixed_6e (padding / stride changes add no
    # parameters); Mixed_7a-c and fc are gone.
    trunk = _count(tv) - sum(_count(getattr(tv, n)) for n in ('Mixed_7a', 'Mixed_7b',
                                                               'Mixed_7c', 'fc'))
    m = InceptionV3CAM()
    assert _count(m) == trunk == 8_965_856
    assert m.out_channels == 768


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_output_shape_224(large, size, meta_forward):
    m, out = meta_forward(InceptionV3CAM, large_feature_map=large)
    assert isinstance(out, tuple) and out[-1].shape == (1, 768, size, size)


def test_modified_layers():
    m = InceptionV3CAM()
    assert m.Conv2d_1a_3x3.conv.padding == (1, 1)
    assert m.Mixed_6a.branch3x3.conv.stride == (1, 1)
    assert m.Mixed_6a.branch3x3dbl_3.conv.padding == (1, 1)
    assert not hasattr(m, 'Mixed_7a') and not hasattr(m, 'AuxLogits')


def test_load_local_torchvision_weights(tmp_path, tv_models):
    tv = tv_models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path / 'inception_v3.pth'
    torch.save(tv.state_dict(), path)
    m = InceptionV3CAM(pretrained=str(path))
    assert torch.equal(m.Mixed_6a.branch3x3.conv.weight, tv.Mixed_6a.branch3x3.conv.weight)
    assert torch.equal(m.Conv2d_1a_3x3.bn.running_var, tv.Conv2d_1a_3x3.bn.running_var)
    assert not any(k.startswith(('Mixed_7', 'AuxLogits', 'fc')) for k in m.state_dict())


def test_wrong_checkpoint_shape(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'Conv2d_1a_3x3.conv.weight': torch.zeros(32, 3, 5, 5)}, path)
    with pytest.raises(ValueError, match='Conv2d_1a_3x3.conv.weight'):
        InceptionV3CAM(pretrained=str(path))
