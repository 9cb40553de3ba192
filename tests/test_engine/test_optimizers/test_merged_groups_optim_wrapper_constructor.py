"""Merged parameter groups (mmengine's paramwise rules, timm's group count) and fused updates."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor, build_optim_wrapper

import wsol_mm  # noqa: F401
from wsol_mm.engine.optimizers import prefer_fused
from wsol_mm.engine.optimizers.merged_groups_optim_wrapper_constructor import (
    merge_param_groups,
)
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
_PARAMWISE = dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
                  custom_keys={'pos_embed': dict(decay_mult=0.0),
                               'cls_token': dict(decay_mult=0.0)})


def _per_param(wrapper) -> dict:
    """``{id(param): (lr, weight_decay)}`` of an optimizer wrapper."""
    return {id(p): (g['lr'], g['weight_decay'])
            for g in wrapper.optimizer.param_groups for p in g['params']}


@pytest.mark.parametrize('config', ['configs/tscam/deit_s_cub.py', 'configs/scm/deit_s_cub.py',
                                    'configs/lca_md/deit_s_cub.py'])
def test_deit_configs_get_two_groups_with_every_parameter_setting_kept(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.backbone.update(pretrained=None, depth=2)
    model = MODELS.build(cfg.model)
    merged = build_optim_wrapper(model, cfg.optim_wrapper)
    reference = DefaultOptimWrapperConstructor(
        dict(optimizer=cfg.optim_wrapper.optimizer), cfg.optim_wrapper.paramwise_cfg)(model)
    assert len(reference.optimizer.param_groups) > 20  # one per parameter
    groups = merged.optimizer.param_groups
    assert len(groups) == 2 and sorted(g['weight_decay'] for g in groups) == [0.0, 0.05]
    assert _per_param(merged) == _per_param(reference)
    order = [id(p) for p in model.parameters()]
    for group in groups:  # model order inside each group
        ids = [id(p) for p in group['params']]
        assert ids == sorted(ids, key=order.index)
    assert all(g['fused'] for g in groups)


def test_merge_fills_defaults_and_drops_annotations():
    a, b, c, d = (nn.Parameter(torch.zeros(1)) for _ in range(4))
    groups = [dict(params=[a], lr=0.1, weight_decay=0.0, decay_mult=0.0),
              dict(params=[b]),
              dict(params=[c], weight_decay=0.0),
              dict(params=[d], lr=0.2),
              dict(params=[])]
    merged = merge_param_groups(groups, dict(lr=0.1, weight_decay=0.5))
    assert [[id(p) for p in g['params']] for g in merged] == [[id(a), id(c)], [id(b)], [id(d)]]
    assert 'decay_mult' not in merged[0] and merged[2]['lr'] == 0.2


def _train(model: nn.Module, wrapper, steps: int = 3) -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(4, 6, dtype=torch.float64, generator=g)
        wrapper.update_params(model(x).square().mean())


def test_merged_fused_training_matches_mmengine_groups():
    """Same updates as one group per parameter with torch's default loop (float64)."""
    def build():
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(6, 5), nn.LayerNorm(5), nn.Linear(5, 3)).double()

    optimizer = dict(type='AdamW', lr=1e-2, weight_decay=0.05)
    paramwise = dict(norm_decay_mult=0.0, bias_decay_mult=0.0)
    model_a, model_b = build(), build()
    wrapper_a = build_optim_wrapper(model_a, dict(
        constructor='MergedGroupsOptimWrapperConstructor', optimizer=optimizer,
        paramwise_cfg=paramwise))
    wrapper_b = DefaultOptimWrapperConstructor(dict(optimizer=optimizer), paramwise)(model_b)
    assert len(wrapper_a.optimizer.param_groups) == 2
    assert len(wrapper_b.optimizer.param_groups) == 6
    assert wrapper_a.optimizer.param_groups[0]['fused']
    _train(model_a, wrapper_a)
    _train(model_b, wrapper_b)
    for pa, pb in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-14)


def test_prefer_fused_only_where_safe():
    cpu = [torch.zeros(2, requires_grad=True)]
    assert prefer_fused(dict(type='SGD', lr=0.1), cpu)['fused'] is True
    assert 'fused' not in prefer_fused(dict(type='SGD', lr=0.1, foreach=True), cpu)
    assert prefer_fused(dict(type='AdamW', lr=0.1, fused=False), cpu)['fused'] is False
    meta = [torch.zeros(2, device='meta')]
    assert 'fused' not in prefer_fused(dict(type='AdamW', lr=0.1), meta)
    assert 'fused' not in prefer_fused(dict(type='RMSprop', lr=0.1), cpu)  # no fused kernel


def test_wsol_constructor_uses_the_fused_sgd():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 2, 1))
    wrapper = build_optim_wrapper(model, dict(
        constructor='WSOLOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True),
        paramwise_cfg=dict(classifier_keys=('1.', ))))
    assert [g['fused'] for g in wrapper.optimizer.param_groups] == [True, True]
