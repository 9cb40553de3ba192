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
