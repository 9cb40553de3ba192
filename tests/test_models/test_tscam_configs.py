"""TS-CAM configs: values of the released recipe, and the optimizer's weight-decay groups."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'tscam')
EXPECTED = {  # leaf: (arch, D, classes, lr, milestones, epochs, total train batch, cam_thr)
    'deit_t_cub': ('deit_t', 192, 200, 5e-5, [29, 59], 60, 128, 0.1),
    'deit_s_cub': ('deit_s', 384, 200, 5e-5, [29, 59], 60, 128, 0.1),
    'deit_b_cub': ('deit_b', 768, 200, 5e-5, [29, 59], 60, 128, 0.1),
    'conformer_s_cub': ('small', 384, 200, 5e-5, [29, 59], 60, 128, 0.1),
    'deit_t_imagenet': ('deit_t', 192, 1000, 5e-4, [9, 11, 19], 20, 128, 0.12),
    'deit_s_imagenet': ('deit_s', 384, 1000, 5e-4, [9, 11, 19], 20, 256, 0.12),
    'deit_b_imagenet': ('deit_b', 768, 1000, 5e-4, [9, 11, 19], 20, 256, 0.12),
    'conformer_s_imagenet': ('small', 384, 1000, 5e-4, [9, 11, 19], 20, 128, 0.12),
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_tscam_config_values(name):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    arch, dim, classes, lr, milestones, epochs, batch, thr = EXPECTED[name]
    assert cfg.default_scope == 'wsol_mm'
    assert cfg.model.backbone.arch == arch
    assert cfg.model.head.in_channels == dim and cfg.model.head.num_classes == classes
    assert cfg.optim_wrapper.optimizer.lr == lr
    assert cfg.param_scheduler[0].milestones == milestones
    assert cfg.train_cfg.max_epochs == epochs
    gpus = 1 if 'cub' in name else 4
    assert cfg.train_dataloader.batch_size * gpus == batch == cfg.auto_scale_lr.base_batch_size
    fixed = [m for m in cfg.val_evaluator if m.type == 'FixedThresholdLocMetric']
    assert fixed[0].cam_thr == thr
    assert any(m.type == 'MaxBoxAccV2Metric' for m in cfg.test_evaluator)
    val, test = cfg.val_dataloader.dataset, cfg.test_dataloader.dataset
    assert val.type == test.type and (val.split, test.split) == ('val', 'test')


def _timm_no_decay(name: str, param: torch.Tensor) -> bool:
    # timm `param_groups_weight_decay`: 1-D params, biases and `no_weight_decay()` names.
    return param.ndim <= 1 or name.endswith('.bias') or name.split('.')[-1] in (
        'pos_embed', 'cls_token')


@pytest.mark.parametrize('name,depth', [('deit_t_cub', 2), ('conformer_s_cub', 3)])
def test_optimizer_decay_groups_match_timm(name, depth):
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    cfg.model.backbone.pretrained = None
    cfg.model.backbone.depth = depth
    model = MODELS.build(cfg.model)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    decay = {id(p): g['weight_decay'] for g in wrapper.optimizer.param_groups
             for p in g['params']}
    assert wrapper.optimizer.defaults['eps'] == 1e-8
    for pname, param in model.named_parameters():
        expected = 0.0 if _timm_no_decay(pname, param) else 0.05
        assert decay[id(param)] == expected, pname


@pytest.mark.parametrize('name,steps', [('deit_s_cub', [30]), ('deit_s_imagenet', [10, 12])])
def test_step_schedule_matches_released_rule(name, steps):
    from mmengine.optim.scheduler import MultiStepLR
    cfg = Config.fromfile(osp.join(CFG_DIR, f'{name}.py'))
    base_lr = cfg.optim_wrapper.optimizer.lr
    optim = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched_cfg = dict(cfg.param_scheduler[0])
    sched_cfg.pop('type')
    sched = MultiStepLR(optim, **sched_cfg)
    lr_released = base_lr
    for epoch in range(cfg.train_cfg.max_epochs):  # mmengine epoch e = released epoch e + 1
        if any((epoch + 1) % s == 0 for s in steps):  # released: x0.1 at the epoch's start
            lr_released *= 0.1
        assert optim.param_groups[0]['lr'] == pytest.approx(lr_released), epoch
        optim.step()  # the training loop's order (no gradient: nothing moves)
        sched.step()
