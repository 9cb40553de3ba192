"""Bridging the gap: split backbones, attentive drop, alignment losses, component, hook."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MMLogger

from wsol_mm.registry import HOOKS, MODELS


def test_alignment_losses_hand_computed():
    # pixel features (3,4) (1,0) (0,2): norms 5, 1, 2 -> min-max 1, 0, 0.25
    fmap = torch.tensor([[3., 1., 0.], [4., 0., 2.]]).reshape(1, 2, 1, 3)
    sim = torch.tensor([[0.8, -0.5, 0.1], [0.1, 0.3, -0.2]]).reshape(1, 2, 1, 3)
    loss = MODELS.build(dict(type='FeatureAlignmentLoss', fg_threshold=0.4, bg_threshold=0.2))
    l_sim, l_norm = loss(fmap, sim, torch.tensor([0]))
    assert l_sim.item() == pytest.approx(-0.5 - 0.8)  # bg: pixel 1, fg: pixel 0
    assert l_norm.item() == pytest.approx(0 - (1 + 0.25) / 2)  # s<0: pixel 1; s>0: 0, 2
    loss_max = MODELS.build(dict(type='FeatureAlignmentLoss', norm_reference='max_class'))
    _, l_norm = loss_max(fmap, sim, torch.tensor([0]))
    assert l_norm.item() == pytest.approx(-(1 + 0 + 0.25) / 3)  # max sims all > 0


def test_attentive_drop_mask():
    x = torch.tensor([1., 0.9, 0.5, 0.1]).reshape(1, 1, 2, 2).repeat(1, 3, 1, 1)
    always = MODELS.build(dict(type='AttentiveDrop', drop_threshold=0.8, drop_prob=1.0))
    assert always.drop_mask(x).flatten().tolist() == [0, 0, 1, 1]
    assert torch.equal(always(x)[:, :, 1], x[:, :, 1])
    never = MODELS.build(dict(type='AttentiveDrop', drop_threshold=0.8, drop_prob=0.0))
    assert torch.equal(never(x), x)


@pytest.mark.parametrize('backbone', [dict(type='ResNetBridCAM', depth=18),
                                      dict(type='VGG16BridCAM', large_feature_map=True)])
def test_split_backbones_equal_unsplit(backbone):
    torch.manual_seed(0)
    split = MODELS.build(backbone).eval()
    plain_cfg = dict(backbone, type=backbone['type'].replace('Brid', ''))
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict(split.state_dict())  # same parameter names
    x = torch.rand(1, 3, 64, 64)
    mid, final = split(x)
    assert torch.allclose(final, plain(x)[0], atol=1e-5)
    assert torch.allclose(split.forward_tail(mid), final)


def _model(**kw):
    return MODELS.build(dict(
        type='CAMLocalizer', backbone=dict(type='ResNetBridCAM', depth=18),
        head=dict(type='CAMHead', num_classes=3, in_channels=512),
        methods=[dict(type='BridgingGap', **kw)]))


def test_component_terms_warmup_and_gradient(label_samples):
    torch.manual_seed(0)
    x, samples = torch.rand(2, 3, 64, 64), label_samples([0, 1])
    no_drop = _model(drop_prob=0.0, align_enabled=False)
    losses = no_drop.loss(x, samples)
    assert set(losses) == {'loss_cls', 'loss_brid_drop'}
    assert losses['loss_brid_drop'].item() == pytest.approx(0, abs=1e-6)  # nothing erased
    model = _model(drop_prob=1.0, drop_weight=2.0)
    losses = model.loss(x, samples)
    assert {'loss_brid_align_sim', 'loss_brid_align_norm'} <= set(losses)
    assert losses['loss_brid_drop'].item() > 0
    losses['loss_brid_drop'].backward()
    assert model.backbone.layer4[1].conv1.weight.grad.abs().sum() > 0
    hook = HOOKS.build(dict(type='BridgingGapWarmupHook', warmup_epochs=2))
    for epoch, expected in ((0, False), (1, False), (2, True)):
        hook.before_train_epoch(SimpleNamespace(model=model, epoch=epoch,
                                                logger=MMLogger.get_current_instance()))
        assert model.methods[0].align_enabled is expected


def test_component_needs_split_backbone(label_samples):
    model = MODELS.build(dict(type='CAMLocalizer', backbone=dict(type='ResNetCAM', depth=18),
                              head=dict(type='CAMHead', num_classes=3, in_channels=512),
                              methods=[dict(type='BridgingGap')]))
    with pytest.raises(TypeError, match='split backbone'):
        model.loss(torch.rand(1, 3, 64, 64), label_samples([0]))
