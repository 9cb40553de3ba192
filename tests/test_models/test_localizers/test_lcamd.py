import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wsol_mm.models.localizers import TSCAMLocalizer
from wsol_mm.models.losses import SimMaxLoss, SimMinLoss
from wsol_mm.models.necks import SSFM
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample


def _identity_tfcm(channels):
    tfcm = MODELS.build(dict(type='TFCM', num_classes=channels))
    with torch.no_grad():
        tfcm.conv.weight.zero_()
        tfcm.conv.weight[:, :, 1, 1] = torch.eye(channels)
        tfcm.conv.bias.zero_()
    return tfcm


def LCAMD(backbone, head, tfcm=dict(type='TFCM'), **kwargs):  # noqa: N802 - the config's name
    """LCA-MD as configured in configs/_base_/models/lca_md_deit_s.py."""
    return TSCAMLocalizer(backbone, head, neck=[tfcm, dict(type='SSFM')],
                          normalize_attention=True, **kwargs)


def SCMLocalizer(backbone, head):  # noqa: N802 - the config's name
    """SCM as configured in configs/_base_/models/scm_deit_s.py."""
    return TSCAMLocalizer(backbone, head, normalize_attention=True,
                          neck=dict(type='SSFM', graph='four_neighbour', num_layers=4,
                                    threshold_init=0.5))


def _samples(labels, size=(4, 4)):
    return [WSOLDataSample(metainfo=dict(img_shape=size)).set_gt_label(y) for y in labels]


def _batch():
    g = torch.Generator().manual_seed(0)
    fmap = torch.rand(3, 3, 4, 4, generator=g) + 0.1  # 3 images, 3 classes, 4x4 patches
    attn = torch.rand(3, 2, 16, generator=g) * 0.6  # 2 blocks; sums may exceed 1
    return fmap, attn


def test_lcamd_loss_terms_hand_computed(fixed_backbone, identity_head):
    fmap, attn = _batch()
    model = LCAMD(fixed_backbone(fmap, attn), identity_head(3, loss_weight=0.6),
                  tfcm=_identity_tfcm(3))
    labels = [0, 2, 1]
    losses = model(torch.zeros(3, 3, 64, 64), _samples(labels), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_tfcm_sim_max_fg', 'loss_tfcm_sim_max_bg',
                           'loss_tfcm_sim_min', 'ssfm_ns_fallbacks'}
    # TFCM pools by the RAW summed attention (numpy, identity projection).
    a = attn.sum(1).numpy()
    s = fmap.flatten(2).numpy()
    fg = torch.tensor((s * a[:, None]).mean(-1))
    bg = torch.tensor((s * (1 - a[:, None])).mean(-1))
    torch.testing.assert_close(losses['loss_tfcm_sim_max_fg'], 0.4 * SimMaxLoss(0.75)(fg))
    torch.testing.assert_close(losses['loss_tfcm_sim_max_bg'], 0.4 * SimMaxLoss(0.75)(bg))
    torch.testing.assert_close(losses['loss_tfcm_sim_min'], 0.4 * SimMinLoss()(bg, fg))
    # CE on GAP of the SSFM-refined map, fed with the min-max normalised attention.
    norm = (a - a.min(1, keepdims=True)) / (a - a.min(1, keepdims=True)).max(1, keepdims=True)
    refined, _ = SSFM()(fmap, torch.tensor(norm))
    ce = F.cross_entropy(refined.mean(dim=(2, 3)), torch.tensor(labels))
    torch.testing.assert_close(losses['loss_cls'], 0.6 * ce)
    assert losses['ssfm_ns_fallbacks'].item() == 0


def test_predict_is_tscam_with_normalised_attention(fixed_backbone, identity_head):
    fmap, attn = _batch()
    model = LCAMD(fixed_backbone(fmap, attn), identity_head(3), test_cfg=dict(topk_cams=2))
    samples = model(torch.zeros(3, 3, 64, 64), _samples([0, 1, 2]), mode='predict')
    # Logits = GAP(S): SSFM is training-only.
    np.testing.assert_allclose(samples[1].pred_score.numpy(),
                               fmap[1].mean(dim=(1, 2)).softmax(0).numpy(), rtol=1e-6)
    a = attn[1].sum(0)
    a = (a - a.min()) / (a - a.min()).max()
    expected = a.view(4, 4) * fmap[1, 1]
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    torch.testing.assert_close(samples[1].pred_cam, expected)  # GT class 1 at img_shape
    assert samples[1].pred_cams.shape == (2, 4, 4)
    assert samples[1].pred_cam_labels.tolist() == fmap[1].mean(dim=(1, 2)).topk(2).indices.tolist()


def test_scm_configuration_has_no_contrast(fixed_backbone, identity_head):
    fmap, attn = _batch()
    model = SCMLocalizer(fixed_backbone(fmap, attn), identity_head(3))
    ssfm, = model.neck
    assert ssfm.graph == 'four_neighbour' and len(ssfm.layers) == 4
    assert float(ssfm.layers[0].threshold.detach()) == pytest.approx(0.5)
    losses = model(torch.zeros(3, 3, 64, 64), _samples([0, 1, 2]), mode='loss')
    assert set(losses) == {'loss_cls', 'ssfm_ns_fallbacks'}
    a = attn.sum(1)
    a = a - a.min(1, keepdim=True).values
    refined, _ = SSFM(graph='four_neighbour', num_layers=4, threshold_init=0.5)(
        fmap, a / a.max(1, keepdim=True).values)
    torch.testing.assert_close(losses['loss_cls'],
                               F.cross_entropy(refined.mean(dim=(2, 3)), torch.tensor([0, 1, 2])))


def test_lcamd_vit_end_to_end_gradients():
    model = MODELS.build(dict(
        type='TSCAMLocalizer', normalize_attention=True,
        neck=[dict(type='TFCM'), dict(type='SSFM')],
        backbone=dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2,
                      pretrained=None),
        head=dict(type='ConvCAMHead', num_classes=5, in_channels=192,
                  loss=dict(type='CrossEntropyLoss', loss_weight=0.6))))
    # TFCM's num_classes comes from the head
    assert model.neck[0].num_classes == 5 and model.neck[1].graph == 'multi_direction'
    losses = model(torch.rand(4, 3, 32, 32), _samples([0, 1, 2, 3]), mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for name in ('neck.0.conv.weight', 'head.conv.weight', 'neck.1.layers.0.threshold',
                 'neck.1.layers.1.fusion_weight', 'backbone.blocks.0.attn.qkv.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    logits, maps = model(torch.rand(2, 3, 32, 32), mode='tensor')
    assert logits.shape == (2, 5) and maps.shape == (2, 5, 2, 2)


def test_lcamd_conformer_variant_trains():
    model = MODELS.build(dict(
        type='TSCAMLocalizer', normalize_attention=True,
        neck=[dict(type='TFCM'), dict(type='SSFM')],
        backbone=dict(type='Conformer', depth=3, drop_path_rate=0.0),
        head=dict(type='ConformerCAMHead', num_classes=3, in_channels=384, cnn_channels=1024,
                  loss=dict(type='CrossEntropyLoss', loss_weight=0.6))))
    losses = model(torch.rand(2, 3, 32, 32), _samples([0, 2]), mode='loss')
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.head.fc.weight.grad.abs().sum() > 0  # CNN branch logits are trained
    assert model.neck[0].conv.weight.grad.abs().sum() > 0


def test_tfcm_class_mismatch(fixed_backbone, identity_head):
    fmap, attn = _batch()
    model = LCAMD(fixed_backbone(fmap, attn), identity_head(3),
                  tfcm=dict(type='TFCM', num_classes=200))
    with pytest.raises(ValueError, match='num_classes=200'):
        model(torch.zeros(3, 3, 64, 64), _samples([0, 1, 2]), mode='loss')


def test_first_round_checkpoint_keys_load(fixed_backbone, identity_head):
    # wsol_mm <= 0.1 saved LCA-MD's modules as `tfcm.*` / `ssfm.*`: they load strictly.
    fmap, attn = _batch()
    model = LCAMD(fixed_backbone(fmap, attn), identity_head(3))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.rand_like(p))
    legacy = model.legacy_key_map()
    assert legacy['neck.0.conv.weight'] == 'tfcm.conv.weight'
    assert legacy['neck.1.layers.1.threshold'] == 'ssfm.layers.1.threshold'
    old = {legacy.get(k, k): v.clone() for k, v in model.state_dict().items()}
    fresh = LCAMD(fixed_backbone(fmap, attn), identity_head(3))
    fresh.load_state_dict(old, strict=True)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key
