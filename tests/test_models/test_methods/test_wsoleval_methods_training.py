"""HaS / CutMix / ADL through a whole localizer, alone and under crop consistency: the
training loss against hand-composed values (float64, fixed draws), inference unchanged."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wsol_mm.registry import MODELS

_BACKBONE = dict(type='ResNetCAM', depth=18)
_ADL = dict(_BACKBONE, adl=dict(drop_rate=0.75, drop_threshold=0.9),
            adl_positions=dict(layer3=(0, ), layer4=(0, 1)))
_HEAD = dict(type='CAMHead', num_classes=4, in_channels=512)
_CROP = dict(type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.3,
             crop_ratio=1.0, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65)
SIZE = 32


def _model(augments=None, backbone=_BACKBONE, crop=False):
    torch.manual_seed(0)
    cfg = dict(type='CAMLocalizer', backbone=backbone, head=_HEAD,
               data_preprocessor=dict(type='WSOLDataPreprocessor', batch_augments=augments))
    if crop:
        cfg = dict(_CROP, **{k: v for k, v in cfg.items() if k != 'type'})
    return MODELS.build(cfg).double().train()


def _batch(label_samples, labels=(0, 3, 1)):
    gen = torch.Generator().manual_seed(1)
    images = [torch.randint(0, 256, (3, SIZE, SIZE), generator=gen, dtype=torch.uint8)
              for _ in labels]
    return dict(inputs=images, data_samples=label_samples(list(labels)))


def _normalised(model, data):
    """The plain (augment-free) preprocessor output, in float64."""
    return model.data_preprocessor(dict(data), training=False)['inputs'].double()


def _logits(model, x):
    return model.head(model.backbone(x))


def test_has_loss(label_samples, fixed_draws):
    model = _model([dict(type='HideAndSeek', grid_size=8, drop_rate=0.5)])
    draws = np.random.default_rng(0).random((3, 4, 4))
    model.data_preprocessor.batch_augments[0].rng = fixed_draws(random=[draws])
    data = _batch(label_samples)
    x = _normalised(model, data)
    hidden = torch.from_numpy(draws <= 0.5).repeat_interleave(8, 1).repeat_interleave(8, 2)
    x_has = x.masked_fill(hidden[:, None], 0.0)
    expected = F.cross_entropy(_logits(model, x_has), torch.tensor([0, 3, 1]))
    out = model.data_preprocessor(dict(data), training=True)
    loss = model.loss(out['inputs'].double(), out['data_samples'])['loss_cls']
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-10)


def test_cutmix_loss(label_samples, fixed_draws):
    model = _model([dict(type='CutMix', num_classes=4)])
    model.data_preprocessor.batch_augments[0].rng = fixed_draws(
        random=[0.1], beta=[0.4], permutation=[[1, 2, 0]], integers=[20, 5])
    data = _batch(label_samples)
    x = _normalised(model, data)
    ratio = math.sqrt(0.6)  # box int(32 * 0.7746) = 24 around (20, 5), clipped
    half = int(SIZE * ratio) // 2
    y1, y2, x1, x2 = 20 - half, min(20 + half, SIZE), max(5 - half, 0), 5 + half
    x_mix = x.clone()
    x_mix[:, :, y1:y2, x1:x2] = x[[1, 2, 0], :, y1:y2, x1:x2]
    lam = 1 - (y2 - y1) * (x2 - x1) / SIZE**2
    labels = torch.tensor([0, 3, 1])
    logits = _logits(model, x_mix)
    expected = lam * F.cross_entropy(logits, labels) + \
        (1 - lam) * F.cross_entropy(logits, labels[[1, 2, 0]])
    out = model.data_preprocessor(dict(data), training=True)
    loss = model.loss(out['inputs'].double(), out['data_samples'])['loss_cls']
    assert math.isclose(loss.item(), expected.item(), rel_tol=1e-10)


def test_adl_inference_is_plain_cam(label_samples):
    adl, plain = _model(backbone=_ADL), _model()
    plain.load_state_dict(adl.state_dict(), strict=True)
    data = _batch(label_samples)
    x = _normalised(adl, data)
    out_adl = adl.eval().predict(x, label_samples([0, 3, 1]))
    out_plain = plain.eval().predict(x, label_samples([0, 3, 1]))
    for a, b in zip(out_adl, out_plain):
        assert torch.allclose(a.pred_cam, b.pred_cam, rtol=1e-10, atol=1e-12)
    # the GT-class map is the fc-weighted channel mean of layer4 (CAM), ADL off in eval
    fmap = plain.backbone(x)[0]
    raw = torch.einsum('bc,bchw->bhw', plain.head.fc.weight[[0, 3, 1]], fmap) / fmap.shape[1]
    assert torch.allclose(adl.forward_cams(adl.extract_feat(x)).maps(
        torch.tensor([0, 3, 1]))[:, 0], raw, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('method', ['has', 'cutmix', 'adl'])
def test_crop_consistency_on_top(method, label_samples, fixed_draws):
    augments = dict(has=[dict(type='HideAndSeek', grid_size=8, drop_rate=0.5)],
                    cutmix=[dict(type='CutMix', num_classes=4)]).get(method)
    model = _model(augments, _ADL if method == 'adl' else _BACKBONE, crop=True)
    draws = fixed_draws(random=[np.full((3, 4, 4), 0.9)] if method == 'has' else
                        [0.1] if method == 'cutmix' else [0.9, 0.1, 0.9, 0.1, 0.9, 0.1],
                        beta=[0.5], permutation=[[2, 0, 1]], integers=[16, 16])
    for component in list(model.data_preprocessor.batch_augments) + [
            m for m in model.modules() if hasattr(m, 'drop_threshold')]:
        component.rng = draws
    out = model.data_preprocessor(_batch(label_samples), training=True)
    inputs = out['inputs'].double()
    losses = model.loss(inputs, out['data_samples'])
    assert set(losses) >= {'loss_cls', 'loss_crop_cons'}
    assert all(torch.isfinite(v) for v in losses.values())
    if method == 'adl':  # three ADL layers in each of the two passes
        assert draws.calls == ['random'] * 6
        return
    # the original pass' CE is the method's own loss of the (augmented) batch
    logits = _logits(model, inputs)
    target = torch.stack([s.gt_score for s in out['data_samples']]) if method == 'cutmix' \
        else torch.tensor([0, 3, 1])
    assert math.isclose(losses['crop_ce_orig'].item(),
                        F.cross_entropy(logits, target).item(), rel_tol=1e-10)
    if method == 'cutmix':
        zoom_target = [s.gt_score for s in out['data_samples']]
        assert all(abs(t.sum().item() - 1) < 1e-12 for t in zoom_target)
