"""SPG (wsolevaluation ``wsol/method/spg.py``): masks, the three guidance losses, branches."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.models import CAMLocalizer
from wsol_mm.models.methods.spg import spg_mask
from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, ForwardPass, WSOLDataSample


def _samples(labels, shape=(64, 64)):
    return [WSOLDataSample(metainfo=dict(img_shape=shape)).set_gt_label(c) for c in labels]


def test_mask_by_hand():
    att = torch.tensor([[0.9, 0.75, 0.5], [0.3, 0.05, 0.0]]).view(1, 1, 2, 3)
    target, valid = spg_mask(att, high=0.7, low=0.1, min_fg_pixels=2)
    assert valid.view(-1).tolist() == [True, True, False, False, True, True]  # 255 = ignore
    assert target.view(-1).tolist()[:2] == [1, 1] and target.view(-1).tolist()[4:] == [0, 0]
    # fewer than min_fg_pixels above `high`: foreground = above 0.7 * max instead
    target, valid = spg_mask(att, high=0.8, low=0.1, min_fg_pixels=2)
    assert (target * valid).view(-1).tolist() == [1, 1, 0, 0, 0, 0]  # > 0.63
    # strict comparisons, background wins over (fallback) foreground
    low = torch.tensor([0.04, 0.03, 0.0, 0.01]).view(1, 1, 2, 2)
    target, valid = spg_mask(low, high=0.7, low=0.05, min_fg_pixels=30)
    assert valid.all() and target.sum() == 0
    target, valid = spg_mask(torch.full((1, 1, 2, 2), float('nan')), 0.7, 0.1)
    assert not valid.any()  # NaN pixels are ignored (released comparisons are False)


def _released_mask(attention, high, low):
    """The released get_mask, loop by loop (mask of 255s at the attention's size)."""
    mask = torch.full_like(attention, 255.)
    for b in range(attention.shape[0]):
        fg = attention[b] > high
        if torch.sum(fg.float()).item() < 30:
            fg = attention[b] > torch.max(attention[b]) * 0.7
        mask[b][fg] = 1.
    mask[attention < low] = 0.
    return mask


def _released_terms(class_maps, labels, b1, b2, c, size):
    """wsolevaluation's compute_attention + get_loss terms (bilinear to ``size``)."""
    up = nn.Upsample(size=size, mode='bilinear', align_corners=False)
    feat = up(class_maps).detach()[range(len(labels)), labels].unsqueeze(1)
    flat = feat.view(feat.shape[0], -1)
    lo, hi = flat.min(1, keepdim=True)[0], flat.max(1, keepdim=True)[0]
    attention = ((flat - lo) / (hi - lo)).view(feat.shape)
    fused = (torch.sigmoid(up(b1)) + torch.sigmoid(up(b2))).detach() / 2.
    b2i = torch.sigmoid(up(b2))

    def term(logits, pre_mask, high, low):
        mask = _released_mask(pre_mask, high, low)
        pos = mask.view(-1, 1) < 255.
        return nn.BCEWithLogitsLoss()(up(logits).squeeze(1).reshape(-1, 1)[pos],
                                      mask.view(-1, 1)[pos])

    return (term(b2, attention, 0.7, 0.01), term(b1, b2i, 0.5, 0.05),
            term(c, fused, 0.7, 0.1))


def _component(b1=3, b2=4, c=5, **kw):
    torch.manual_seed(0)
    return MODELS.build(dict(type='SPG', b1_channels=b1, b2_channels=b2, c_channels=c,
                             branch_channels=6, c_mid_channels=7, **kw)).double()


def _pass(spg, size=(24, 24), batch=2):
    g = torch.Generator().manual_seed(1)
    feats = tuple(torch.randn(batch, ch, 4, 4, generator=g, dtype=torch.float64)
                  for ch in (3, 4, 9))
    pixels = torch.randn(batch, 5, 4, 4, generator=g, dtype=torch.float64)
    maps = torch.randn(batch, 3, 4, 4, generator=g, dtype=torch.float64)
    maps[:, :, 1:3, 1:3] += 3  # an object-like peak: the attention keeps >= 30 fg pixels
    cams = ClassMapOutput(maps.mean((2, 3)), lambda cls: maps.gather(
        1, cls[:, :, None, None].expand(-1, -1, 4, 4)), pixel_feats=pixels)
    inputs = torch.zeros(batch, 3, *size, dtype=torch.float64)
    return ForwardPass(inputs, feats, cams, cams.logits, labels=torch.tensor([2, 0])), maps


def test_terms_equal_the_released_loss():
    spg = _component()
    fp, maps = _pass(spg)
    terms = spg.loss(fp, None)
    assert set(terms) == {'loss_spg_b2_att', 'loss_spg_b1_b2i', 'loss_spg_c1_fus'}
    b1, b2, c = spg.branch_logits(fp)
    expected = _released_terms(maps, fp.labels, b1, b2, c, (24, 24))
    for key, ref in zip(('loss_spg_b2_att', 'loss_spg_b1_b2i', 'loss_spg_c1_fus'), expected):
        assert terms[key].item() == pytest.approx(ref.item(), rel=1e-10), key
    # the release fixes 224 x 224; mask_size reproduces it at any input size
    fixed = _component(mask_size=(224, 224)).loss(fp, None)
    expected = _released_terms(maps, fp.labels, b1, b2, c, (224, 224))
    assert fixed['loss_spg_c1_fus'].item() == pytest.approx(expected[2].item(), rel=1e-10)


def test_terms_by_hand_without_upsampling():
    # 1x1 identity branches: logits_b1 = B1 map, logits_b2 = B2 map, logits_c = pixels
    spg = MODELS.build(dict(type='SPG', b1_channels=1, b2_channels=1, c_channels=1,
                            branch_channels=1, c_mid_channels=1, min_fg_pixels=1)).double()
    with torch.no_grad():
        for conv in (m for m in spg.modules() if isinstance(m, nn.Conv2d)):
            conv.weight.zero_()
            conv.weight.view(-1)[conv.weight.numel() // 2] = 1.0  # centre tap
            conv.bias.zero_()
    b1 = torch.tensor([[[[2.0, 0.5], [0.1, 0.0]]]], dtype=torch.float64)
    b2 = torch.tensor([[[[1.0, 3.0], [0.0, 0.2]]]], dtype=torch.float64)
    cmap = torch.tensor([[[[0.0, 4.0], [1.0, 2.0]]]], dtype=torch.float64)
    pixels = torch.tensor([[[[1.5, 0.0], [0.3, 2.0]]]], dtype=torch.float64)
    cams = ClassMapOutput(cmap.mean((2, 3)), lambda cls: cmap, pixel_feats=pixels)
    fp = ForwardPass(torch.zeros(1, 3, 2, 2, dtype=torch.float64), (b1, b2, b2), cams,
                     cams.logits, labels=torch.tensor([0]))
    terms = spg.loss(fp, None)

    def sp(v):  # softplus: BCE-with-logits is sp(-x) for label 1, sp(x) for label 0
        return math.log1p(math.exp(v))

    # attention = cmap / 4 = [0, 1, .25, .5]: fg > .7 -> pixel 1; bg < .01 -> pixel 0
    assert terms['loss_spg_b2_att'].item() == pytest.approx((sp(-3.0) + sp(1.0)) / 2)
    # b2i = sigmoid(b2) = [.73, .95, .5, .55]: fg > .5 -> 0, 1, 3 (0.5 is not > 0.5); no bg
    assert terms['loss_spg_b1_b2i'].item() == pytest.approx((sp(-2.0) + sp(-0.5) + sp(0)) / 3)
    # fused = (sigmoid(b1) + sigmoid(b2)) / 2: all in (0.5, 0.95) -> fg > .7: pixels 0, 1
    s = [1 / (1 + math.exp(-v)) for v in (2.0, 0.5, 0.1, 0.0)]
    t = [1 / (1 + math.exp(-v)) for v in (1.0, 3.0, 0.0, 0.2)]
    fused = [(a + b) / 2 for a, b in zip(s, t)]
    fg = [i for i, v in enumerate(fused) if v > 0.7]
    assert fg == [0, 1]
    assert terms['loss_spg_c1_fus'].item() == pytest.approx((sp(-1.5) + sp(0.0)) / 2)


def test_gradient_flow_as_released():
    spg = _component()
    fp, maps = _pass(spg)
    maps.requires_grad_(True)
    terms = spg.loss(fp, None)
    grads = {}
    for key in terms:
        spg.zero_grad()
        terms[key].backward(retain_graph=True)
        grads[key] = {name: p.grad is not None and p.grad.abs().sum().item() > 0
                      for name, p in spg.named_parameters() if name.endswith('0.weight')}
    assert grads['loss_spg_b2_att'] == {'SPG_B_1a.0.weight': False, 'SPG_B_2a.0.weight': True,
                                        'SPG_B_shared.0.weight': True, 'SPG_C.0.weight': False}
    assert grads['loss_spg_b1_b2i'] == {'SPG_B_1a.0.weight': True, 'SPG_B_2a.0.weight': False,
                                        'SPG_B_shared.0.weight': True, 'SPG_C.0.weight': False}
    assert grads['loss_spg_c1_fus'] == {'SPG_B_1a.0.weight': False, 'SPG_B_2a.0.weight': False,
                                        'SPG_B_shared.0.weight': False, 'SPG_C.0.weight': True}
    assert maps.grad is None  # the attention (the head's class map) is detached


def test_nan_attention_is_ignored_and_empty_masks_give_zero():
    spg = _component(mask_size=(4, 4))  # no resampling: a constant map stays constant
    fp, maps = _pass(spg)
    maps[0] = 1.0  # constant GT map of image 0: NaN attention, every pixel ignored
    terms = spg.loss(fp, None)
    assert torch.isfinite(terms['loss_spg_b2_att'])
    maps[1] = 1.0  # no labelled pixel in the batch: the release's NaN becomes 0
    assert spg.loss(fp, None)['loss_spg_b2_att'].item() == 0.0


def test_bad_configuration_messages():
    with pytest.raises(ValueError, match='threshold_2l'):
        MODELS.build(dict(type='SPG', b1_channels=1, b2_channels=1, c_channels=1,
                          threshold_2h=0.1, threshold_2l=0.2))
    model = MODELS.build(dict(type='CAMLocalizer', backbone=dict(type='ResNetCAM', depth=18),
                              head=dict(type='Conv1x1ClassMapHead', num_classes=3,
                                        in_channels=512),
                              methods=[dict(type='SPG', b1_channels=256, b2_channels=256,
                                            c_channels=512)]))
    with pytest.raises(TypeError, match='ResNetSPGCAM'):
        model.loss(torch.rand(1, 3, 32, 32), _samples([0], (32, 32)))


def _small_spg_model(crop=False, **crop_kw):
    cfg = dict(type='CAMLocalizer', backbone=dict(type='ResNetSPGCAM', depth=18),
               head=dict(type='Conv1x1ClassMapHead', num_classes=3, in_channels=512),
               methods=[dict(type='SPG', b1_channels=256, b2_channels=256, c_channels=512,
                             branch_channels=16, c_mid_channels=16)])
    if crop:
        cfg = dict(cfg, type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.5,
                   crop_ratio=1.0, **crop_kw)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def test_spg_model_trains_and_predicts_the_head_map():
    model = _small_spg_model()
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    losses = model.loss(x, _samples([0, 2]))
    assert set(losses) == {'loss_cls', 'loss_spg_b2_att', 'loss_spg_b1_b2i', 'loss_spg_c1_fus'}
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.methods[0].parameters())
    model.eval()
    with torch.no_grad():
        sample = model.predict(x, _samples([2, 0]))[0]
        feats = model.backbone(x)
        cam = model.head.cls_conv(feats[-1])[0, 2]  # the GT channel of the class maps
    cam = F.interpolate(cam[None, None], size=(64, 64), mode='bicubic', align_corners=False)[0, 0]
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    assert torch.allclose(sample.pred_cam, cam, atol=1e-5)


def test_crop_consistency_on_top_of_spg():
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    half = _small_spg_model(crop=True, other_method_loss_ratio=0.5).loss(x, _samples([0, 2]))
    model = _small_spg_model(crop=True)
    full = model.loss(x, _samples([0, 2]))
    assert {'loss_cls', 'loss_crop_cons', 'loss_spg_b2_att', 'loss_spg_b1_b2i',
            'loss_spg_c1_fus'} <= set(full)
    for key in ('loss_spg_b2_att', 'loss_spg_b1_b2i', 'loss_spg_c1_fus'):
        assert half[key].item() == pytest.approx(full[key].item() / 2, rel=1e-5)
    sum(v for k, v in full.items() if k.startswith('loss')).backward()
    assert model.methods[0].SPG_C[0].weight.grad.abs().sum() > 0
    assert isinstance(model.localizer, CAMLocalizer)
