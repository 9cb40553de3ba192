"""tools/analysis_tools/eval_cams.py on generated wsolevaluation-layout trees."""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest

from wsol_mm.evaluation.functional import save_scoremap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'eval_cams.py')


def _write(path: str, lines: list) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines))  # no trailing newline, as several reference files


def _tree(root: str, dataset: str, n: int = 6) -> None:
    rng = np.random.default_rng(0)
    meta = osp.join(root, 'metadata', dataset, 'test')
    ids, labels, sizes, loc = [], [], [], []
    for i in range(n):
        img_id = f'{i % 2:03d}.cls/img_{i}.jpg'
        ids.append(img_id)
        labels.append(f'{img_id},{i % 2}')
        w, h = 300 + 10 * i, 200 + 5 * i
        sizes.append(f'{img_id},{w},{h}')
        x0, y0 = 20 * i, 10 * i
        x1, y1 = x0 + 60 + 20 * i, y0 + 50 + 15 * i
        cam = np.zeros((224, 224))
        cx0, cy0 = int(x0 * 224 / w), int(y0 * 224 / h)
        cx1, cy1 = int(x1 * 224 / w), int(y1 * 224 / h)
        cam[cy0:cy1, cx0:cx1] = 1.0
        cam = cv2.GaussianBlur(cam, (0, 0), 3) + 0.05 * rng.random((224, 224))
        cam = (cam - cam.min()) / (cam.max() - cam.min())
        save_scoremap(osp.join(root, 'cams'), img_id, cam)
        if dataset == 'OpenImages':
            mask = np.zeros((h, w), np.uint8)
            mask[y0:y1, x0:x1] = 255
            rel = f'test/{img_id}_m0.png'
            os.makedirs(osp.dirname(osp.join(root, 'masks', 'OpenImages', rel)), exist_ok=True)
            cv2.imwrite(osp.join(root, 'masks', 'OpenImages', rel), mask)
            loc.append(f'{img_id},{rel},')
        else:
            loc.append(f'{img_id},{x0},{y0},{x1},{y1}')
    _write(osp.join(meta, 'image_ids.txt'), ids)
    _write(osp.join(meta, 'class_labels.txt'), labels)
    _write(osp.join(meta, 'image_sizes.txt'), sizes)
    _write(osp.join(meta, 'localization.txt'), loc)


def _run(root: str, dataset: str, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, TOOL, '--metadata-root', osp.join(root, 'metadata'), '--dataset',
           dataset, '--split', 'test', '--scoremap-root', osp.join(root, 'cams'),
           '--cam-curve-interval', '0.01', '--no-progress', *extra]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_boxes_json_and_plots(tmp_path):
    root = str(tmp_path)
    _tree(root, 'CUB')
    out, plots = osp.join(root, 'res.json'), osp.join(root, 'plots')
    proc = _run(root, 'CUB', '--out', out, '--plot-dir', plots)
    assert proc.returncode == 0, proc.stderr
    res = json.load(open(out))
    for key in ('maxboxacc/iou50', 'maxboxaccv2/mean', 'maxboxaccv2/size_4-9',
                'maxboxaccv2/small', 'maxboxaccv2/size_mean'):
        assert key in res
    assert res['maxboxaccv2/iou30'] == 100.0
    assert len(res['curves']['maxboxaccv2/iou50']) == 100
    assert sorted(os.listdir(plots)) == ['boxacc_vs_threshold.png', 'maxboxaccv2_size_bins.png']


def test_masks_pxap(tmp_path):
    root = str(tmp_path)
    _tree(root, 'OpenImages')
    out, plots = osp.join(root, 'res.json'), osp.join(root, 'plots')
    proc = _run(root, 'OpenImages', '--mask-root', osp.join(root, 'masks'), '--metrics', 'pxap',
                'size', '--out', out, '--plot-dir', plots)
    assert proc.returncode == 0, proc.stderr
    res = json.load(open(out))
    assert 50 < res['pxap/pxap'] <= 100 and 'pxap/piou' in res
    assert 'pixel_pr_curve.png' in os.listdir(plots)
    assert 'pxap_size_bins.png' in os.listdir(plots)


@pytest.mark.parametrize('breakage,message', [
    ('missing', 'Score map not found'), ('shape', 'expected (224, 224)'),
    ('nan', 'contains NaN'), ('range', 'values must be in [0, 1]'),
    ('fields', 'localization.txt:2: expected 5'),
])
def test_bad_input_errors(tmp_path, capsys, breakage, message):
    root = str(tmp_path)
    _tree(root, 'CUB', n=3)
    cam_path = osp.join(root, 'cams', '001.cls', 'img_1.jpg.npy')
    if breakage == 'missing':
        os.remove(cam_path)
    elif breakage in ('shape', 'nan', 'range'):
        cam = {'shape': np.zeros((10, 10)), 'nan': np.full((224, 224), np.nan),
               'range': np.full((224, 224), 2.0)}[breakage]
        np.save(cam_path, cam)
    else:
        loc = osp.join(root, 'metadata', 'CUB', 'test', 'localization.txt')
        lines = open(loc).read().split('\n')
        lines[1] += ',7'
        _write(loc, lines)
    # in-process (a subprocess per case would mostly time imports)
    spec = importlib.util.spec_from_file_location('eval_cams', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    argv = ['--metadata-root', osp.join(root, 'metadata'), '--dataset', 'CUB', '--split', 'test',
            '--scoremap-root', osp.join(root, 'cams'), '--cam-curve-interval', '0.01',
            '--no-progress']
    assert tool.main(argv) == 1
    assert message in capsys.readouterr().err
