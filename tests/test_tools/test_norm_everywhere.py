"""``model.test_cfg.norm`` reaches every consumer of the maps through the one post-processor.

tools/test.py (metrics, ``--out-scoremaps``, ``--out``), the inference API and vis_cam.py all
see the IVR maps when the command line asks for them, and the maps equal IVRNorm applied to
the localizer's own raw maps.
"""
import glob
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from script_runner import run_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
IVR = ['model.test_cfg.norm.type=IVR', 'model.test_cfg.norm.percentile=0.3']


@pytest.fixture(scope='module')
def setup(tiny_synthetic, tmp_path_factory):
    from wsol_mm.registry import MODELS
    from wsol_mm.utils import register_all_modules
    register_all_modules()
    tmp = tmp_path_factory.mktemp('norm')
    gen = "dict(image_size=64, num_classes=4, splits=dict(train=16, val=8, test=8), seed=1)"
    loader = ("dict(batch_size=4, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={tiny_synthetic!r}, generator={gen}))")
    cfg_path = tmp / 'cfg.py'
    cfg_path.write_text(
        f"_base_ = [{osp.join(REPO, 'configs/cam/resnet18_synthetic.py')!r}]\n"
        f"test_dataloader = {loader}\n")
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(cfg_path)).model)
    ckpt = tmp / 'rand.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), ckpt)
    return tmp, str(cfg_path), str(ckpt)


def _run(args):
    out = run_script([sys.executable] + args, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _maps(folder):
    files = sorted(glob.glob(osp.join(folder, '**', '*.npy'), recursive=True))
    return {osp.relpath(f, folder): np.load(f) for f in files if '.topk.' not in f}


def test_test_py_scoremaps_and_metrics_follow_test_cfg_norm(setup):
    tmp, cfg, ckpt = setup
    _run(['tools/test.py', cfg, ckpt, '--work-dir', str(tmp / 'w'), '--out-scoremaps',
          str(tmp / 'minmax'), '--metrics-json', str(tmp / 'minmax.json')])
    _run(['tools/test.py', cfg, ckpt, '--work-dir', str(tmp / 'w'), '--out-scoremaps',
          str(tmp / 'ivr'), '--metrics-json', str(tmp / 'ivr.json'), '--out',
          str(tmp / 'ivr.pkl'), '--cfg-options'] + IVR)
    minmax, ivr = _maps(str(tmp / 'minmax')), _maps(str(tmp / 'ivr'))
    assert len(ivr) == 8 and set(ivr) == set(minmax)
    for name, m in ivr.items():
        assert (m == 0).mean() >= 0.3 - 1e-6 and m.max() == 1  # IVR: 30 % cut to 0, peak 1
        assert (minmax[name] == 0).mean() < 0.05  # min-max: a single minimum
        # IVR of a map is a monotone re-mapping of the min-max map above the 30 % quantile
        keep = m > 0
        assert np.all(np.diff(m[keep][np.argsort(minmax[name][keep])]) >= -1e-6)
    import json
    a, b = json.load(open(tmp / 'minmax.json')), json.load(open(tmp / 'ivr.json'))
    assert a['cls/top1'] == b['cls/top1']  # scores are untouched
    from wsol_mm.utils.wsol_results_io import load_wsol_results
    results = load_wsol_results(str(tmp / 'ivr.pkl'))
    assert all((r['pred_cam'] == 0).mean() >= 0.3 - 1e-6 for r in results)


def test_inference_api_and_vis_cam_follow_test_cfg_norm(setup, tiny_synthetic):
    from wsol_mm.apis import inference_localizer, init_localizer
    from wsol_mm.models.normalizers import IVRNorm
    from wsol_mm.models.utils import resize_cams
    tmp, cfg, ckpt = setup
    image = sorted(glob.glob(osp.join(tiny_synthetic, '**', '*.png'), recursive=True))[0]
    model = init_localizer(cfg, ckpt, cfg_options={'model.test_cfg.norm.type': 'IVR',
                                                   'model.test_cfg.norm.percentile': 0.3})
    assert type(model.cam_norm) is IVRNorm and model.cam_norm.percentile == 0.3
    res = inference_localizer(model, image)
    cam = torch.as_tensor(res['input_cam'])
    assert (cam == 0).float().mean() >= 0.3 - 1e-6
    # equal to IVRNorm of the localizer's raw map of that class, resized as the post-processor
    sample = res['sample']
    with torch.no_grad():
        import mmcv
        from mmengine.dataset import Compose
        steps = [t for t in model.cfg.test_dataloader.dataset.pipeline
                 if t['type'] not in ('LoadImageFromFile', 'LoadWSOLAnnotations')]
        img = mmcv.imread(image)
        data = Compose(steps)(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
        batch = model.data_preprocessor(dict(inputs=[data['inputs']],
                                             data_samples=[data['data_samples']]), False)
        out = model.forward_cams(model.extract_feat(batch['inputs']))
        raw = out.maps(torch.tensor([int(sample.pred_label)]))
        expected = IVRNorm(0.3)(resize_cams(raw, tuple(cam.shape), 'bicubic'))[0, 0]
    torch.testing.assert_close(cam, expected, atol=1e-5, rtol=1e-5)
    fig = tmp / 'vis.png'
    _run(['tools/visualization/vis_cam.py', image, cfg, ckpt, '--out', str(fig),
          '--cfg-options'] + IVR)
    assert osp.getsize(fig) > 10_000
