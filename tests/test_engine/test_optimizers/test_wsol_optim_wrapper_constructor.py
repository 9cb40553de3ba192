import pytest
import torch
from mmengine.optim import build_optim_wrapper

import wsol_mm  # noqa: F401
from wsol_mm.models import CAMLocalizer
from wsol_mm.utils import register_all_modules

register_all_modules()

_HEADS = dict(
    ResNetCAM=dict(type='CAMHead', in_channels=2048),
    VGG16CAM=dict(type='CAMHead', in_channels=1024),
    InceptionV3CAM=dict(type='ConvClassMapHead', in_channels=768))


def _model(backbone: str, num_classes: int = 200):
    cfg = dict(type=backbone, depth=50) if backbone == 'ResNetCAM' else dict(type=backbone)
    with torch.device('meta'):  # names and sizes only
        return CAMLocalizer(backbone=cfg, head=dict(_HEADS[backbone], num_classes=num_classes))


def _groups(model, **paramwise):
    cfg = dict(constructor='WSOLOptimWrapperConstructor',
               optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True,
                              weight_decay=5e-4),
               paramwise_cfg=paramwise)
    wrapper = build_optim_wrapper(model, cfg)
    groups = wrapper.optimizer.param_groups
    assert len(groups) == 2 and groups[0]['nesterov']
    ids = [{id(p) for p in g['params']} for g in groups]
    names = [[n for n, p in model.named_parameters() if id(p) in s] for s in ids]
    sizes = [sum(p.numel() for p in g['params']) for g in groups]
    return [g['lr'] for g in groups], names, sizes


def test_wsolevaluation_resnet50():
    model = _model('ResNetCAM')
    lrs, names, sizes = _groups(model, classifier_lr_mult=10)
    assert lrs == [0.01, pytest.approx(0.1)]
    assert all(n.startswith(('backbone.layer4.', 'head.')) for n in names[1])
    assert any(n.startswith('backbone.layer3.') for n in names[0])
    # layer4 (14,964,736) + fc 2048*200+200 at 10x; the rest of ResNet50 at lr.
    assert sizes == [23_508_032 - 14_964_736, 14_964_736 + 409_800]


def test_wsolevaluation_vgg16():
    lrs, names, sizes = _groups(_model('VGG16CAM'))
    assert lrs == [0.01, pytest.approx(0.1)]
    assert all(n.startswith('backbone.features.') for n in names[0])
    assert sorted(names[1]) == ['backbone.conv6.bias', 'backbone.conv6.weight', 'head.fc.bias',
                                'head.fc.weight']
    assert sizes == [14_714_688, 4_719_616 + 205_000]


def test_wsolevaluation_inception():
    _, names, sizes = _groups(_model('InceptionV3CAM'))
    assert all(n.startswith(('backbone.Conv2d_', 'backbone.Mixed_')) for n in names[0])
    assert all(n.startswith('head.') for n in names[1])
    assert sizes == [8_965_856, 16_722_120]


def test_small_object_matters_quirk():
    # official repo: ResNet50 2 tensors (128 values) at lr, 159 tensors at 10x (CUB).
    lrs, names, sizes = _groups(_model('ResNetCAM'), rule='small_object_matters')
    assert names[0] == ['backbone.stem.1.weight', 'backbone.stem.1.bias']
    assert len(names[1]) == 159 and sizes == [128, 23_917_832 - 128]
    for backbone in ('VGG16CAM', 'InceptionV3CAM'):
        _, names, sizes = _groups(_model(backbone), rule='small_object_matters')
        assert names[0] == [] and sizes[0] == 0


def test_explicit_keys_and_bad_cfg():
    _, names, _ = _groups(_model('VGG16CAM'), classifier_keys=('head.', ))
    assert names[1] == ['head.fc.weight', 'head.fc.bias']
    with pytest.raises(ValueError, match='rule'):
        _groups(_model('VGG16CAM'), rule='bogus')
    with pytest.raises(KeyError, match='lr_mult'):
        _groups(_model('VGG16CAM'), lr_mult=10)
