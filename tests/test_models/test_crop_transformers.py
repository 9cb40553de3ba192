"""Crop consistency on TS-CAM, SCM and LCA-MD: the shipped configs' models on a tiny DeiT."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from wsol_mm.models.normalizers import MinMaxNorm
from wsol_mm.models.utils.cam_utils import resize_cams
from wsol_mm.models.utils.crop_ops import crop_and_zoom
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()
CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'crop')
CONFIGS = ['deit_s_cub_tscam.py', 'deit_s_cub_scm.py', 'deit_s_cub_lca_md.py']
SIZE, CLASSES = 128, 5


def _model(config, **overrides):
    cfg = Config.fromfile(osp.join(CFG_DIR, config)).model
    cfg.backbone = dict(type='VisionTransformer', arch='deit_t', img_size=SIZE, depth=2,
                        pretrained=None, drop_path_rate=0.0)
    cfg.head.update(num_classes=CLASSES, in_channels=192)
    cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _samples(labels):
    return [WSOLDataSample(metainfo=dict(img_shape=(SIZE, SIZE))).set_gt_label(int(c))
            for c in labels]


def _images():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, SIZE, SIZE, generator=g)
    x[0, :, 16:48, 64:112] += 3  # an object-like region in each image
    x[1, :, 80:120, 8:40] += 3
    return x


@pytest.mark.parametrize('config', CONFIGS)
def test_one_training_iteration_terms_and_gradients(config):
    model = _model(config, crop_threshold=0.9, other_method_loss_ratio=0.5,
                   crop_method_loss_ratio=0.8).eval()  # eval: deterministic passes
    inner = model.localizer
    assert type(inner).__name__ == 'TSCAMLocalizer'
    x, samples, labels = _images(), _samples([1, 3]), torch.tensor([1, 3])
    losses = model.loss(x, samples)
    # the same two passes by hand, through the wrapped localizer's interface
    fp_o = inner.forward_train(x, samples)
    t_o = inner.pass_losses(fp_o, samples)
    m_orig, boxes, boxes_px, _ = model._original_maps(fp_o.cams, labels, (SIZE, SIZE))
    assert (boxes[:, 2:] < SIZE // 16).any()  # a real crop, not the whole grid
    x_zoom = crop_and_zoom(x, boxes_px, (SIZE, SIZE))
    t_z = inner.pass_losses(inner.forward_train(x_zoom, samples), samples)
    torch.testing.assert_close(losses['loss_cls'], 0.8 * 0.65 * (t_o['loss_cls'] + t_z['loss_cls']))
    extra = {k for k in t_o if k.startswith('loss') and k != 'loss_cls'}
    if 'lca_md' in config:
        assert extra == {'loss_tfcm_sim_max_fg', 'loss_tfcm_sim_max_bg', 'loss_tfcm_sim_min'}
    for key in extra:  # neck terms: other_method_loss_ratio * (original + zoom)
        torch.testing.assert_close(losses[key], 0.5 * (t_o[key] + t_z[key]))
    if 'scm' in config or 'lca_md' in config:
        assert 'ssfm_ns_fallbacks' in losses
    assert {'loss_crop_cons', 'crop_ce_orig', 'crop_ce_zoom', 'crop_cons_pos',
            'crop_cons_neg'} <= set(losses)
    model.train()
    total = sum(v for k, v in model.loss(x, samples).items() if 'loss' in k)
    total.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize('config', CONFIGS)
def test_test_time_zoom_nu_0_and_1(config):
    plain = _model(config, crop_ratio=0.0, crop_threshold=0.9).eval()
    zoom = _model(config, crop_ratio=1.0, crop_threshold=0.9).eval()
    zoom.load_state_dict(plain.state_dict())
    x, labels = _images(), torch.tensor([1, 3])
    with torch.no_grad():
        ref = plain.localizer.predict(x, _samples(labels))
        never = plain.predict(x, _samples(labels))
        always = zoom.predict(x, _samples(labels))
        cams = zoom.forward_cams(zoom.extract_feat(x))
        _, boxes, boxes_px, _ = zoom._original_maps(cams, labels, (SIZE, SIZE))
    for r, n in zip(ref, never):  # nu = 0: the localizer's own maps and scores
        torch.testing.assert_close(n.pred_cam, r.pred_cam, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(n.pred_score, r.pred_score)
    zoomed = 0
    for i, (a, n) in enumerate(zip(always, never)):
        bx, by, bw, bh = boxes_px[i].tolist()
        if bw * bh == SIZE * SIZE:
            torch.testing.assert_close(a.pred_cam, n.pred_cam)  # box = whole grid
            continue
        zoomed += 1
        # nu = 1: inside the box the fused map a * S of the ZOOMED input, recomputed by the
        # whole transformer and pasted back at input resolution; outside the original map.
        with torch.no_grad():
            x_zoom = crop_and_zoom(x[i:i + 1], boxes_px[i:i + 1], (SIZE, SIZE))
            z = zoom.forward_cams(zoom.extract_feat(x_zoom)).maps(labels[i:i + 1])
        inside = MinMaxNorm().train_norm(resize_cams(z, (bh, bw), 'bilinear'))[0, 0]
        pasted = a.pred_cam
        outside = torch.ones(SIZE, SIZE, dtype=torch.bool)
        outside[by:by + bh, bx:bx + bw] = False
        assert not torch.allclose(pasted[~outside], n.pred_cam[~outside], atol=1e-3)
        # min-max is affine per map: the pasted box is an affine image of `inside`
        box = pasted[by:by + bh, bx:bx + bw]
        coef = np.polyfit(inside.flatten().numpy(), box.flatten().numpy(), 1)
        torch.testing.assert_close(box, torch.tensor(coef[0]) * inside + coef[1],
                                   atol=1e-4, rtol=1e-4, check_dtype=False)
    assert zoomed > 0
