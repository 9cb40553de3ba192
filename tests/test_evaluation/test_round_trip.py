"""tools/test.py --out-scoremaps then eval_cams.py: every online metric key, identical offline.

Random-weight models on tiny SyntheticWSOL data: the quickstart config (112 px input),
the same with OpenImages-style masks (PxAP), and a 224 px transformer config (TS-CAM
DeiT-T: fixed protocol). Each run adds the metrics the config lacks so that every metric
type, size-bin rule and protocol crosses the round trip.
"""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from script_runner import run_script

from wsol_mm.evaluation.functional import SIDECAR_NAME, load_scoremap, save_scoremap
from wsol_mm.evaluation.offline_eval import OfflineEvalError, evaluate_scoremaps

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_BOX_EXTRA = ("dict(type='MaxBoxAccMetric', cam_curve_interval=0.01, size_bins=True), "
              "dict(type='MaxBoxAccV2Metric', size_bins=True, size_bin_rule='released', "
              "prefix='v2released'), dict(type='ThresholdSweepLocMetric', size_bins=True), "
              "dict(type='FixedThresholdLocMetric', cam_thr=0.15, size_bins=True, "
              "prefix='loc15')")
CASES = {
    # config, data fixture, image size / splits of the fixture, test_evaluator (None: keep)
    'quickstart_112px': ('configs/cam/resnet18_synthetic.py', 'tiny_synthetic', 64, (16, 8, 8),
                         "[dict(type='ClsAccuracyMetric'), dict(type='MaxBoxAccV2Metric', "
                         "size_bins=True), dict(type='FixedThresholdLocMetric', cam_thr=0.2), "
                         + _BOX_EXTRA + ']', ''),
    'quickstart_masks': ('configs/cam/resnet18_synthetic.py', 'tiny_synthetic', 64, (16, 8, 8),
                         "[dict(type='ClsAccuracyMetric'), dict(type='PxAPMetric', "
                         "cam_curve_interval=0.01, size_bins=True)]", "ann_kind='mask', "),
    'tscam_deit_t_224px': ('configs/tscam/deit_t_cub.py', 'tiny_synthetic_256', 256, (4, 4, 4),
                           "[dict(type='ClsAccuracyMetric'), dict(type='FixedThresholdLocMetric',"
                           " cam_thr=0.1, size_bins=True), dict(type='MaxBoxAccV2Metric', "
                           "size_bins=True), " + _BOX_EXTRA + ']', ''),
}


def _config(path: str, case: str, data_root: str) -> str:
    base, _, size, splits, evaluator, ds_extra = CASES[case]
    gen = (f'dict(image_size={size}, num_classes=4, splits=dict(train={splits[0]}, '
           f'val={splits[1]}, test={splits[2]}), seed=1)')
    loader = ("dict(batch_size=3, num_workers=0, persistent_workers=False, "
              f"dataset=dict(type='SyntheticWSOLDataset', data_root={data_root!r}, "
              f"{ds_extra}generator={gen}))")
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO, base)!r}]\n"
                f"train_dataloader = {loader}\nval_dataloader = {loader}\n"
                f"test_dataloader = {loader}\ntest_evaluator = {evaluator}\n")
        if 'tscam' in case:
            f.write("model = dict(backbone=dict(pretrained=False), head=dict(num_classes=4))\n")
    return path


def _checkpoint(cfg_path: str, path: str) -> str:
    from mmengine.config import Config

    from wsol_mm.registry import MODELS
    from wsol_mm.utils import register_all_modules
    register_all_modules()
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(cfg_path).model)
    torch.save(dict(state_dict=model.state_dict(), meta={}), path)
    return path


def _test_tool(cfg: str, ckpt: str, work: str, maps: str, metrics_json: str) -> None:
    out = run_script([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', work,
                      '--out-scoremaps', maps, '--metrics-json', metrics_json])
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.fixture(scope='module')
def runs(request, tmp_path_factory):
    """Online metrics and the score-map folder of each case (one tools/test.py run each)."""
    out = {}
    for case, (_, fixture, *_rest) in CASES.items():
        work = tmp_path_factory.mktemp(case)
        cfg = _config(str(work / 'cfg.py'), case, request.getfixturevalue(fixture))
        ckpt = _checkpoint(cfg, str(work / 'random.pth'))
        maps, metrics_json = str(work / 'maps'), str(work / 'metrics.json')
        _test_tool(cfg, ckpt, str(work / 'run'), maps, metrics_json)
        with open(metrics_json) as f:
            out[case] = (json.load(f), maps)
    return out


@pytest.mark.parametrize('case', list(CASES))
def test_offline_equals_online_every_key(runs, case):
    online, maps = runs[case]
    offline = evaluate_scoremaps(maps)
    keys = {k for k in online if not k.startswith('scoremaps/')}
    off_keys = {k for k, v in offline.items() if '/' in k and isinstance(v, (int, float))}
    assert keys == off_keys
    assert [k for k in sorted(keys) if online[k] != offline[k]] == []
    assert online['scoremaps/saved'] == offline['num_images']
    prefixes = {k.split('/')[0] for k in keys}
    expected = {'quickstart_112px': {'cls', 'maxboxaccv2', 'loc', 'maxboxacc', 'v2released',
                                     'sweep', 'loc15'},
                'quickstart_masks': {'cls', 'pxap'},
                'tscam_deit_t_224px': {'cls', 'loc', 'maxboxaccv2', 'maxboxacc', 'v2released',
                                       'sweep', 'loc15'}}[case]
    assert prefixes == expected
    size = 112 if 'quickstart' in case else 224
    cam = load_scoremap(maps, _first_id(maps))
    assert cam.shape == (size, size) and cam.dtype == np.float32


def _first_id(maps: str) -> str:
    from wsol_mm.evaluation.functional import load_sidecar
    return load_sidecar(maps)[0][0]['img_id']


def test_plots_and_overrides(runs, tmp_path):
    from wsol_mm.evaluation.plots import build_figures
    _, maps = runs['quickstart_112px']
    res = evaluate_scoremaps(maps, names=['maxboxacc', 'maxboxaccv2', 'loc', 'sweep', 'size'],
                             overrides=dict(curve_interval=0.01))
    figs = build_figures(res, 'quickstart | test')
    assert set(figs) >= {'boxacc_vs_threshold.png', 'sweep_vs_threshold.png',
                         'loc_vs_threshold.png', 'maxboxaccv2_size_bins.png',
                         'maxboxacc_size_bins.png', 'loc_size_bins.png', 'sweep_size_bins.png'}
    ax = figs['boxacc_vs_threshold.png'].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith('v1 iou50') for lab in labels)
    assert any(lab.startswith('V2 iou70') for lab in labels) and 'best threshold' in labels
    assert 'quickstart | test' in ax.get_title()
    v1 = [line for line in ax.get_lines() if line.get_label().startswith('v1 iou50')][0]
    assert list(v1.get_ydata()) == res['curves']['maxboxacc/iou50']  # curve values = JSON
    assert v1.get_linestyle() == '--'  # dashed over the solid V2 lines
    bars = figs['maxboxaccv2_size_bins.png'].axes[0]
    ticks = [t.get_text() for t in bars.get_xticklabels()]
    assert all('\nn=' in t for t in ticks)
    empty = [t for t in bars.texts if t.get_text() == 'empty']
    names = [k.split('/count_')[1] for k in res if k.startswith('maxboxaccv2/count_')]
    assert len(names) == 13 and len(empty) == sum(res[f'maxboxaccv2/count_{n}'] == 0
                                                  for n in names)
    # a different interval or rule changes only what was asked
    res2 = evaluate_scoremaps(maps, names=['maxboxaccv2', 'size'],
                              overrides=dict(cam_curve_interval=0.01, size_bin_rule='released'))
    assert len(res2['thresholds']['maxboxaccv2']) == 100
    assert res2['settings']['maxboxaccv2']['size_bin_rule'] == 'released'


def test_mismatched_maps_and_sidecar_are_refused(runs, tmp_path):
    import shutil
    _, maps = runs['quickstart_112px']
    copy = str(tmp_path / 'maps')
    shutil.copytree(maps, copy)
    img_id = _first_id(copy)
    save_scoremap(copy, img_id, np.zeros((50, 50), np.float32))
    with pytest.raises(OfflineEvalError, match='map shape .50, 50. but wsol_mm_samples.npz'):
        evaluate_scoremaps(copy)
    os.remove(osp.join(copy, SIDECAR_NAME))
    with pytest.raises(OfflineEvalError, match='wsol_mm_samples.npz not found'):
        evaluate_scoremaps(copy)


@pytest.mark.parametrize('array', [
    np.linspace(0, 1, 224 * 224, dtype=np.float32).reshape(224, 224),  # np.save's maps
    np.linspace(0, 1, 63).reshape(7, 9),
    np.linspace(0, 1, 90, dtype=np.float32).reshape(3, 5, 6),  # top-k maps
    np.linspace(0, 1, 16, dtype='>f4').reshape(4, 4),  # np.load's path from here on
    np.asfortranarray(np.linspace(0, 1, 24).reshape(4, 6)),
    np.zeros((0, 3), np.float32),
    np.linspace(0, 1, 9, dtype=np.float16).reshape(3, 3),
])
def test_map_reader_matches_np_load(tmp_path, array):
    """The direct reader of np.save's float maps gives np.load's array, writable."""
    from wsol_mm.evaluation.functional.scoremap_io import _read_npy
    path = str(tmp_path / 'm.npy')
    np.save(path, array)
    got, ref = _read_npy(path), np.load(path)
    assert got.dtype == ref.dtype and got.shape == ref.shape and np.array_equal(got, ref)
    assert got.flags.writeable
    with open(path, 'rb') as f:
        data = f.read()
    if array.size:
        with open(path, 'wb') as f:  # truncated: np.load's error, named by load_scoremap
            f.write(data[:-2])
        with pytest.raises(ValueError):
            _read_npy(path)
