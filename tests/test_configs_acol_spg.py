"""configs/acol and configs/spg keep their CAM baseline's recipe; lr groups as wsolevaluation.

The method configs are built from the same `_base_` files as `configs/cam/<arch>_<dataset>.py`
(so that crop variants on top stay within three levels of inheritance) and restate its
per-dataset values; this test is what keeps them equal.
"""
import copy
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from wsol_mm.engine.optimizers import WSOLOptimWrapperConstructor
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
LEAVES = [f'{arch}_{ds}' for arch, ds in itertools.product(
    ('resnet50', 'vgg16', 'inception_v3'), ('cub', 'imagenet', 'openimages'))]
SAME = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'val_evaluator',
        'test_evaluator', 'train_cfg', 'val_cfg', 'test_cfg', 'param_scheduler',
        'default_hooks', 'custom_hooks', 'auto_scale_lr', 'randomness', 'env_cfg')


def _load(path: str) -> Config:
    return Config.fromfile(osp.join(REPO, 'configs', path))


@pytest.mark.parametrize('method, leaf', itertools.product(('acol', 'spg'), LEAVES))
def test_method_config_keeps_the_cam_recipe(method, leaf):
    ours, cam = _load(f'{method}/{leaf}.py'), _load(f'cam/{leaf}.py')
    for key in SAME:
        assert ours.get(key) == cam.get(key), f'{method}/{leaf}.py: {key} differs from cam'
    opt, cam_opt = ours.optim_wrapper, cam.optim_wrapper
    assert opt.optimizer == cam_opt.optimizer and opt.constructor == cam_opt.constructor
    assert opt.paramwise_cfg.rule == cam_opt.paramwise_cfg.rule == 'wsolevaluation'
    assert ours.model.backbone.large_feature_map == cam.model.backbone.large_feature_map
    assert ours.model.backbone.pretrained == 'torchvision'
    assert ours.model.head.num_classes == cam.model.head.num_classes
    # wsolevaluation config.py defaults
    if method == 'acol':
        assert ours.model.head.drop_threshold == 0.7
    else:
        spg = ours.model.methods[0]
        assert [spg[f'threshold_{i}{s}'] for i in (1, 2, 3) for s in 'hl'] == [
            0.7, 0.01, 0.5, 0.05, 0.7, 0.1]


@pytest.mark.parametrize('method', ['acol', 'spg'])
def test_crop_variant_adds_only_the_crop_recipe(method):
    ours, base = _load(f'crop/resnet50_cub_{method}.py'), _load(f'{method}/resnet50_cub.py')
    crop = _load('crop/resnet50_cub.py')
    assert ours.model.type == 'CropConsistency'
    assert ours.model.localizer == base.model.type
    keys = ('crop_threshold', 'crop_ratio', 'loss_pos', 'loss_neg', 'loss_ratio',
            'class_agnostic')
    assert {k: ours.model[k] for k in keys} == {k: crop.model[k] for k in keys}
    assert ours.custom_hooks == crop.custom_hooks
    assert ours.optim_wrapper == base.optim_wrapper
    assert ours.model.head == base.model.head and ours.model.backbone == base.model.backbone


def _groups(config: str):
    cfg = _load(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.pretrained = None
    with torch.device('meta'):
        model = MODELS.build(model_cfg)
    ctor = WSOLOptimWrapperConstructor(cfg.optim_wrapper, cfg.optim_wrapper.get('paramwise_cfg'))
    return {name: ctor.is_classifier_param(name, model) for name, _ in model.named_parameters()}


@pytest.mark.parametrize('config', ['acol/resnet50_cub.py', 'spg/resnet50_cub.py',
                                    'crop/resnet50_cub_acol.py'])
def test_resnet_lr_groups_as_released(config):
    # main.py's ResNet patterns ('layer4.', 'fc.') match only layer4: the new layers
    # (ACoL branches, SPG_A4 / SPG_B / SPG_C) stay at the base lr
    groups = _groups(config)
    high = {name for name, on in groups.items() if on}
    assert high == {name for name in groups if name.startswith('backbone.layer4.')}


@pytest.mark.parametrize('config, base_prefixes', [
    ('acol/vgg16_cub.py', ('backbone.features.', )),
    ('spg/vgg16_cub.py', ('backbone.features.', )),  # SPG_A_1 / SPG_A_2 on 10x, as released
    ('acol/inception_v3_cub.py', ('backbone.', )),
    ('spg/inception_v3_cub.py', ('backbone.', )),
])
def test_vgg_inception_lr_groups_as_released(config, base_prefixes):
    groups = _groups(config)
    for name, high in groups.items():
        assert high != name.startswith(base_prefixes), name
    assert any(name.startswith('backbone.SPG_A_1.') for name in groups) == (
        config == 'spg/vgg16_cub.py')
