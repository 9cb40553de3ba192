"""The joint DA-WSOL + crop and Bridging-the-Gap + crop configs: their values and one step."""
import os.path as osp
import sys

import pytest
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from test_configs import _half_resolution, _tiny_dataset  # noqa: E402

from wsol_mm.apis.runner_utils import build_runner  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
JOINT = {'configs/crop/resnet50_cub_da_joint.py': 'configs/da_wsol/resnet50_cub.py',
         'configs/crop/resnet50_cub_brid_joint.py': 'configs/bridging_gap/resnet50_cub.py'}
CROP_KEYS = ('crop_threshold', 'crop_ratio', 'loss_pos', 'loss_neg', 'loss_ratio',
             'class_agnostic')


def _cfg(path: str) -> Config:
    return Config.fromfile(osp.join(REPO_ROOT, path))


@pytest.mark.parametrize('joint, method', sorted(JOINT.items()))
def test_joint_config_is_crop_recipe_plus_method(joint, method):
    """Wrapper around the method's localizer, the method's component and split backbone as in
    its folder, the crop values and schedule of configs/crop/resnet50_cub.py."""
    cfg, method_cfg, crop = _cfg(joint), _cfg(method), _cfg('configs/crop/resnet50_cub.py')
    assert cfg.model.type == 'CropConsistency' and cfg.model.localizer == method_cfg.model.type
    assert cfg.model.methods == method_cfg.model.methods
    assert cfg.model.backbone.type == method_cfg.model.backbone.type
    assert cfg.model.other_method_loss_ratio == 1.0 and cfg.model.crop_method_loss_ratio == 1.0
    for key in CROP_KEYS:
        assert cfg.model[key] == crop.model[key], key
    assert cfg.optim_wrapper == crop.optim_wrapper and cfg.train_cfg == crop.train_cfg
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['CropConsistencyHook'] == dict(type='CropConsistencyHook', start_epoch=25)
    method_hooks = {h['type']: h for h in method_cfg.custom_hooks}
    for name in set(method_hooks) - {'ClassNumCheckHook'}:
        assert hooks[name] == method_hooks[name], name


@pytest.mark.parametrize('joint, prefix', [('configs/crop/resnet50_cub_da_joint.py', 'loss_da_'),
                                           ('configs/crop/resnet50_cub_brid_joint.py',
                                            'loss_brid_')])
def test_joint_step_has_method_and_crop_terms(joint, prefix, tiny_synthetic_256, tmp_path):
    """With every switch on from epoch 0, one step logs the method's terms and the crop's."""
    cfg = _cfg(joint)
    cfg.model.backbone.pretrained = None
    _half_resolution(cfg)
    for split, key in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                       ('test', 'test_dataloader')):
        cfg[key].dataset = _tiny_dataset(cfg[key].dataset, tiny_synthetic_256, split, 200, False)
        cfg[key].update(batch_size=2, num_workers=0, persistent_workers=False)
    for hook in cfg.custom_hooks:
        hook.update({k: 0 for k in ('start_epoch', 'warmup_epochs') if k in hook})
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer = dict(type='WSOLVisualizer', name=f'vis_{tmp_path.name}')
    cfg.update(work_dir=str(tmp_path), log_level='WARNING')
    runner = build_runner(cfg)
    runner.train()
    logged = set(runner.message_hub.log_scalars)
    assert 'train/loss_crop_cons' in logged, sorted(logged)
    assert any(k.startswith(f'train/{prefix}') for k in logged), sorted(logged)
    if prefix == 'loss_brid_':  # the warm-up hook switched the alignment on too
        assert 'train/loss_brid_align_sim' in logged
