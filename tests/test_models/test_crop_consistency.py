"""CropConsistency wrapping CAMLocalizer: loss value, gradient flow, nu rule, AMP, NaN safety."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models import CAMLocalizer, CropConsistency
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()


class PoolBackbone(nn.Module):
    """Parameter-free: the feature map is the image average-pooled by 8 (known CAMs)."""

    def forward(self, x):
        return (F.avg_pool2d(x, 8), )


class RecordingBackbone(nn.Module):
    """1x1 conv + pool that keeps every output so tests can read its gradient."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)
        self.outputs = []

    def forward(self, x):
        out = F.avg_pool2d(F.relu(self.conv(x)), 8)
        out.retain_grad()
        self.outputs.append(out)
        return (out, )


def _samples(labels, size=64):
    return [WSOLDataSample(metainfo=dict(img_shape=(size, size))).set_gt_label(int(c))
            for c in labels]


def _blob_images():
    """Image 0: class-0 blob (channel 0, horizontal ramp) at rows 16:32, cols 24:40.
    Image 1: class-1 blob (channel 1, vertical ramp) at rows 40:56, cols 0:16."""
    x = torch.zeros(2, 3, 64, 64)
    x[0, 0, 16:32, 24:40] = 1 + torch.arange(16.) / 16
    x[1, 1, 40:56, 0:16] = (1 + torch.arange(16.) / 16)[:, None]
    return x


def _pool_model(test_cfg=None, **cfg):
    model = CropConsistency(
        localizer=CAMLocalizer(backbone=PoolBackbone(),
                               head=dict(type='CAMHead', num_classes=2, in_channels=3),
                               test_cfg=test_cfg), **cfg)
    with torch.no_grad():
        model.head.fc.weight.copy_(torch.tensor([[1., 0., 0.], [0., 1., 0.]]))
        model.head.fc.bias.zero_()
    return model


def _minmax(m):
    flat = m.flatten(-2)
    lo, hi = flat.min(-1, keepdim=True).values, flat.max(-1, keepdim=True).values
    return ((flat - lo) / (hi - lo)).view_as(m)


def _bicubic(m, size):
    return F.interpolate(m, size=size, mode='bicubic', align_corners=False)


def test_loss_matches_hand_computation():
    l1, l2, l3 = 0.9, 0.3, 0.65
    model = _pool_model(crop_threshold=0.5, loss_pos=l1, loss_neg=l2, loss_ratio=l3)
    x, labels = _blob_images(), torch.tensor([0, 1])
    losses = model.loss(x, _samples(labels))

    # by hand: the blobs fill grid cells (3,2,2,2) and (0,5,2,2) -> pixel boxes of 16 px
    w = model.head.fc.weight.detach()
    feats = F.avg_pool2d(x, 8)
    ce_o = F.cross_entropy(feats.mean((2, 3)) @ w.T, labels)
    cam = torch.stack([(w[c, :, None, None] * feats[i]).mean(0) for i, c in enumerate(labels)])
    m_orig = _minmax(_bicubic(_minmax(cam[:, None]), (64, 64)))
    boxes = [(24, 16), (0, 40)]
    xz = torch.cat([_bicubic(x[i:i + 1, :, y:y + 16, bx:bx + 16], (64, 64))
                    for i, (bx, y) in enumerate(boxes)])
    fz = F.avg_pool2d(xz, 8)
    ce_z = F.cross_entropy(fz.mean((2, 3)) @ w.T, labels)
    m_zoom = m_orig.clone()
    for i, (c, (bx, y)) in enumerate(zip(labels, boxes)):
        zcam = (w[c, :, None, None] * fz[i]).mean(0)[None, None]
        m_zoom[i, :, y:y + 16, bx:bx + 16] = _minmax(_bicubic(zcam, (16, 16)))[0]

    def cos(u, v):  # the released mean-based form
        return (u * v).mean() / ((u ** 2).mean().sqrt() * (v ** 2).mean().sqrt())

    l_pos, l_neg = 1 - cos(m_orig, m_zoom), 1 - cos(m_orig, 1 - m_zoom)
    total = 2 * l3 * (ce_o + ce_z) / 2 + 2 * (1 - l3) * (l1 * l_pos - l2 * l_neg + 1)

    assert math.isclose(losses['crop_ce_orig'].item(), ce_o.item(), rel_tol=1e-5)
    assert math.isclose(losses['crop_ce_zoom'].item(), ce_z.item(), rel_tol=1e-5)
    assert abs(ce_z.item() - ce_o.item()) > 1e-3  # the zoom pass really saw other pixels
    assert math.isclose(losses['crop_cons_pos'].item(), l_pos.item(), rel_tol=1e-4)
    assert math.isclose(losses['crop_cons_neg'].item(), l_neg.item(), rel_tol=1e-4)
    summed = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert math.isclose(summed.item(), total.item(), rel_tol=1e-5)
    assert not any('loss' in k for k in losses if not k.startswith('loss_'))


def test_disabled_is_plain_cross_entropy():
    model = _pool_model(enabled=False)
    x, labels = _blob_images(), torch.tensor([0, 1])
    losses = model.loss(x, _samples(labels))
    assert set(losses) == {'loss_cls'}
    logits = F.avg_pool2d(x, 8).mean((2, 3)) @ model.head.fc.weight.detach().T
    assert math.isclose(losses['loss_cls'].item(), F.cross_entropy(logits, labels).item(),
                        rel_tol=1e-6)


@pytest.mark.parametrize('caam', [False, True])
def test_consistency_gradient_only_through_original_map(caam):
    torch.manual_seed(0)
    backbone = RecordingBackbone()
    model = CropConsistency(localizer='CAMLocalizer', backbone=backbone,
                            head=dict(type='CAMHead', num_classes=2, in_channels=4),
                            crop_threshold=0.5, class_agnostic=caam)
    losses = model.loss(_blob_images() + 0.1 * torch.rand(2, 3, 64, 64), _samples([0, 1]))
    assert len(backbone.outputs) == 2  # original pass, zoom pass
    losses['loss_crop_cons'].backward()
    orig, zoom = backbone.outputs
    assert orig.grad is not None and orig.grad.abs().sum() > 0
    assert zoom.grad is None  # the zoom branch map is detached for the consistency terms
    fc_grad = model.head.fc.weight.grad
    if caam:  # CAAM does not involve the classifier
        assert fc_grad is None or fc_grad.abs().sum() == 0
    else:
        assert fc_grad.abs().sum() > 0
    # the CE of the zoom pass does reach the zoom branch
    backbone.outputs.clear()
    losses = model.loss(_blob_images(), _samples([0, 1]))
    losses['loss_cls'].backward()
    assert backbone.outputs[1].grad.abs().sum() > 0


def test_predict_nu_rule():
    x, labels = _blob_images(), torch.tensor([0, 1])
    plain = _pool_model(test_zoom=False).eval().predict(x, _samples(labels))
    never = _pool_model(crop_threshold=0.5, crop_ratio=0.0).eval().predict(x, _samples(labels))
    for p, n in zip(plain, never):  # nu = 0: the original map (normalise/resize commute)
        assert torch.allclose(p.pred_cam, n.pred_cam, atol=1e-5)
        assert torch.equal(p.pred_score, n.pred_score)
    # box 2x2 of an 8x8 grid = 1/16 of it: pasted for nu > 1/16, not for nu = 1/16
    at = _pool_model(crop_threshold=0.5, crop_ratio=1 / 16).eval().predict(x, _samples(labels))
    above = _pool_model(crop_threshold=0.5, crop_ratio=0.1).eval().predict(x, _samples(labels))
    assert torch.allclose(at[0].pred_cam, never[0].pred_cam)
    pasted, orig = above[0].pred_cam, never[0].pred_cam
    outside = torch.ones(64, 64, dtype=torch.bool)
    outside[16:32, 24:40] = False
    assert torch.allclose(pasted[outside], orig[outside], atol=1e-6)
    assert not torch.allclose(pasted[~outside], orig[~outside], atol=1e-2)
    # the zoom map is a horizontal ramp (constant along rows) inside the box
    assert torch.allclose(pasted[16:32, 24:40], pasted[16:17, 24:40].expand(16, 16))
    assert above[0].pred_cams.shape == (2, 64, 64)  # top-k maps still written


def test_test_time_zoom_on_a_plain_cam_checkpoint():
    plain = CAMLocalizer(backbone=dict(type='ResNetCAM', depth=18),
                         head=dict(type='CAMHead', num_classes=3, in_channels=512))
    zoom = CropConsistency(localizer=dict(type='CAMLocalizer',
                                          backbone=dict(type='ResNetCAM', depth=18),
                                          head=dict(type='CAMHead', num_classes=3,
                                                    in_channels=512)),
                           enabled=False, crop_ratio=1.0,
                           test_cfg=dict(topk_cams=0, norm=dict(type='IVR', percentile=0.3)))
    assert set(zoom.state_dict()) == set(plain.state_dict())  # same keys, no parameters added
    zoom.load_state_dict(plain.state_dict())
    plain.load_state_dict(zoom.state_dict())
    out = zoom.eval().predict(torch.randn(2, 3, 64, 64), _samples([0, 2]))
    for s in out:
        assert s.pred_cam.shape == (64, 64) and torch.isfinite(s.pred_cam).all()
        assert s.pred_cam.max() <= 1 and s.pred_cam.min() >= 0 and 'pred_cams' not in s


def test_amp_keeps_float32_maps_and_constant_maps_are_safe():
    model = _pool_model(crop_threshold=0.5)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = model.loss(_blob_images(), _samples([0, 1]))
    cons = losses['loss_crop_cons']
    assert cons.dtype == torch.float32 and torch.isfinite(cons)
    # an all-black batch: every map constant -> zeros, whole-grid boxes, finite loss/grad
    model = CropConsistency(localizer='CAMLocalizer', backbone=RecordingBackbone(),
                            head=dict(type='CAMHead', num_classes=2, in_channels=4),
                            test_cfg=dict(norm=dict(type='PaS')), crop_with_norm=True)
    losses = model.loss(torch.zeros(2, 3, 64, 64), _samples([0, 1]))
    total = losses['loss_cls'] + losses['loss_crop_cons']
    assert torch.isfinite(total)
    total.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_bad_arguments():
    head = dict(type='CAMHead', num_classes=2, in_channels=3)
    with pytest.raises(KeyError, match=r'test_cfg.norm=dict'):
        CropConsistency(localizer='CAMLocalizer', backbone=PoolBackbone(), head=head,
                        norm_method='ivr')
    with pytest.raises(ValueError, match='crop_threshold'):
        CropConsistency(localizer='CAMLocalizer', backbone=PoolBackbone(), head=head,
                        crop_threshold=1.5)
    with pytest.raises(KeyError, match=r"\['head'\] given both"):
        CropConsistency(localizer=dict(type='CAMLocalizer', backbone=PoolBackbone(), head=head),
                        head=head)
    with pytest.raises(TypeError, match='wraps a localizer'):
        CropConsistency(localizer=_pool_model())


def test_class_map_head_caam_and_one_pass():
    from wsol_mm.registry import MODELS
    head = MODELS.build(dict(type='ConvClassMapHead', num_classes=3, in_channels=4,
                             mid_channels=8, dropout=0.5))
    feats = (torch.rand(2, 4, 6, 6), )
    head.eval()
    out = head.forward_maps(feats)
    assert torch.allclose(out.agnostic()[:, 0], head.class_maps(feats).mean(1), atol=1e-6)
    cam = out.maps(torch.tensor([0, 2]))
    assert torch.allclose(cam[1, 0], head.class_maps(feats)[1, 2], atol=1e-6)
    # train mode (dropout on): logits are the GAP of the SAME maps' pass
    head.train()
    torch.manual_seed(3)
    out = head.forward_maps(feats)
    caam = out.agnostic()
    assert torch.allclose(out.logits.mean(1), caam.mean((1, 2, 3)), atol=1e-6)
    assert not torch.allclose(head(feats).mean(1), caam.mean((1, 2, 3)), atol=1e-4)


@pytest.mark.parametrize('backbone,head', [
    (dict(type='VGG16CAM', large_feature_map=True),
     dict(type='CAMHead', num_classes=3, in_channels=1024)),
    (dict(type='InceptionV3CAM', large_feature_map=True),
     dict(type='ConvClassMapHead', num_classes=3, in_channels=768, mid_channels=32)),
])
@pytest.mark.parametrize('caam', [False, True])
def test_wsolevaluation_backbones(backbone, head, caam):
    torch.manual_seed(0)
    model = CropConsistency(localizer='CAMLocalizer', backbone=backbone, head=head,
                            class_agnostic=caam, crop_ratio=1.0)
    x = torch.randn(2, 3, 64, 64)
    losses = model.loss(x, _samples([0, 2]))
    total = losses['loss_cls'] + losses['loss_crop_cons']
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.parameters())  # DDP-safe: all used
    out = model.eval().predict(x, _samples([0, 2]))
    assert out[0].pred_cam.shape == (64, 64) and out[0].pred_cams.shape == (3, 64, 64)
