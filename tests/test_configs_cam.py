"""The nine wsolevaluation CAM configs: structure, model build and one training step."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

import wsol_mm  # noqa: F401
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()
ROOT = osp.join(osp.dirname(__file__), '..', 'configs', 'cam')
LEAVES = sorted(p for p in glob.glob(osp.join(ROOT, '*_*.py')) if 'synthetic' not in p)
NUM_CLASSES = dict(cub=200, imagenet=1000, openimages=100)
LARGE = dict(resnet50_cub=True, resnet50_imagenet=True, resnet50_openimages=False,
             inception_v3_cub=True, inception_v3_imagenet=True, inception_v3_openimages=True)


def _no_pretrained(cfg):
    for key in ('backbone', 'head'):
        if 'pretrained' in cfg.model[key]:
            cfg.model[key].pretrained = None


def test_nine_leaves():
    names = [osp.basename(p)[:-3] for p in LEAVES]
    assert names == sorted(f'{b}_{d}' for b in ('resnet50', 'vgg16', 'inception_v3')
                           for d in ('cub', 'imagenet', 'openimages'))


@pytest.mark.parametrize('path', LEAVES, ids=lambda p: osp.basename(p)[:-3])
def test_leaf_structure(path):
    cfg = Config.fromfile(path)
    name = osp.basename(path)[:-3]
    dataset = name.split('_')[-1]
    assert cfg.default_scope == 'wsol_mm'
    assert cfg.model.head.num_classes == NUM_CLASSES[dataset]
    assert cfg.model.backbone.large_feature_map == LARGE.get(name, False)
    assert cfg.val_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader.dataset.split == 'test'
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline][2:5] == [
        'Resize', 'RandomCrop', 'RandomFlip']
    metrics = [m['type'] for m in cfg.val_evaluator]
    if dataset == 'openimages':
        assert metrics == ['ClsAccuracyMetric', 'PxAPMetric']
        assert cfg.default_hooks.checkpoint.save_best == 'pxap/pxap'
        assert cfg.train_dataloader.dataset.type == 'OpenImagesDataset'
    else:
        assert metrics == ['ClsAccuracyMetric', 'MaxBoxAccV2Metric', 'MaxBoxAccMetric']
        assert cfg.default_hooks.checkpoint.save_best == 'maxboxaccv2/mean'
    milestones = [14, 29, 44] if dataset == 'cub' else [2, 5, 8]
    assert cfg.param_scheduler.milestones == milestones
    assert cfg.train_cfg.max_epochs == (50 if dataset == 'cub' else 10)
    assert cfg.optim_wrapper.optimizer.nesterov and cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.model.head.get('pretrained') == (
        'torchvision' if name == 'resnet50_imagenet' else None)


# one leaf end to end (the integrator's tests/test_configs.py runs every config)
@pytest.mark.parametrize('name', ['vgg16_openimages'])
def test_build_and_train_step(name):
    cfg = Config.fromfile(osp.join(ROOT, f'{name}.py'))
    _no_pretrained(cfg)
    model = MODELS.build(cfg.model)
    model.init_weights()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    lrs = [g['lr'] for g in wrapper.optimizer.param_groups]
    assert lrs == [cfg.optim_wrapper.optimizer.lr, pytest.approx(10 * lrs[0])]
    samples = []
    for label in (0, 3):
        s = WSOLDataSample(gt_label=torch.tensor([label]))
        s.set_metainfo(dict(img_shape=(64, 64)))
        samples.append(s)
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)] * 2,
                data_samples=samples)
    log = model.train_step(data, wrapper)
    assert torch.isfinite(log['loss_cls'])
    model.eval()
    out = model.val_step(data)
    assert out[0].pred_cam.shape == (64, 64)
