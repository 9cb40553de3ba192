"""tools/analysis_tools/eval_cams.py in metadata mode, on generated wsolevaluation-layout trees."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from script_runner import load_script

from wsol_mm.evaluation.functional import save_scoremap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'analysis_tools', 'eval_cams.py')


def _write(path: str, lines: list) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines))  # no trailing newline, as several reference files


def _tree(root: str, dataset: str, n: int = 6, size: int = 224) -> None:
    """``n`` images of growing boxes (inside the image) and matching blurred maps."""
    rng = np.random.default_rng(0)
    meta = osp.join(root, 'metadata', dataset, 'test')
    ids, labels, sizes, loc = [], [], [], []
    for i in range(n):
        img_id = f'{i % 2:03d}.cls/img_{i}.jpg'
        ids.append(img_id)
        labels.append(f'{img_id},{i % 2}')
        w, h = 300 + 10 * i, 200 + 5 * i
        sizes.append(f'{img_id},{w},{h}')
        x0, y0 = 15 * i, 8 * i
        x1, y1 = min(x0 + 60 + 25 * i, w - 1), min(y0 + 50 + 15 * i, h - 1)
        cam = np.zeros((size, size))
        cx0, cy0 = int(x0 * size / w), int(y0 * size / h)
        cx1, cy1 = int(x1 * size / w), int(y1 * size / h)
        cam[cy0:cy1, cx0:cx1] = 1.0
        cam = cv2.GaussianBlur(cam, (0, 0), 3) + 0.05 * rng.random((size, size))
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


def _argv(root: str, dataset: str, *extra: str) -> list:
    return ['--metadata-root', osp.join(root, 'metadata'), '--dataset', dataset, '--split',
            'test', '--scoremap-root', osp.join(root, 'cams'), '--cam-curve-interval', '0.01',
            '--no-progress', *extra]


def _subprocess(argv: list) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('PYTHONUNBUFFERED', None)  # stdout to a pipe is block-buffered, as for users
    return subprocess.run([sys.executable, TOOL, *argv], capture_output=True, text=True,
                          env=env)


def _tool():
    return load_script(TOOL)


def test_boxes_json_and_plots(tmp_path, capsys):
    root = str(tmp_path)
    _tree(root, 'CUB')
    out, plots = osp.join(root, 'res.json'), osp.join(root, 'plots')
    assert _tool().main(_argv(root, 'CUB', '--out', out, '--plot-dir', plots)) == 0
    res = json.load(open(out))
    for key in ('maxboxacc/iou50', 'maxboxaccv2/mean', 'maxboxaccv2/size_4-9',
                'maxboxaccv2/small', 'maxboxaccv2/size_mean', 'maxboxaccv2/count_medium'):
        assert key in res
    assert res['maxboxaccv2/iou30'] == 100.0
    assert len(res['curves']['maxboxaccv2/iou50']) == 100 == len(res['thresholds']['maxboxaccv2'])
    # box ratios of _tree: 5.0, 8.7, 13.1, 18.1, 23.5, 29.4 %; the other bins are empty
    counts = {k.split('count_')[1]: v for k, v in res.items() if '/count_size_' in k}
    assert counts == {'size_0-1': 0, 'size_1-4': 0, 'size_4-9': 2, 'size_9-16': 1,
                      'size_16-25': 2, 'size_25-36': 1, 'size_36-49': 0, 'size_49-64': 0,
                      'size_64-81': 0, 'size_81-100': 0}
    assert res['maxboxaccv2/count_small'] == 0 and res['maxboxaccv2/count_medium'] == 6
    table = capsys.readouterr().out
    assert 'maxboxaccv2/size_0-1' in table and 'empty  n=0' in table
    assert sorted(os.listdir(plots)) == ['boxacc_vs_threshold.png', 'maxboxaccv2_size_bins.png']


def test_masks_pxap_with_size_keys(tmp_path):
    root = str(tmp_path)
    _tree(root, 'OpenImages')
    out, plots = osp.join(root, 'res.json'), osp.join(root, 'plots')
    assert _tool().main(_argv(root, 'OpenImages', '--mask-root', osp.join(root, 'masks'),
                              '--metrics', 'pxap', 'size', '--out', out, '--plot-dir',
                              plots)) == 0
    res = json.load(open(out))
    assert 50 < res['pxap/pxap'] <= 100 and 'pxap/piou' in res
    for key in ('small', 'medium', 'large', 'size_mean', 'count_medium', 'size_4-9'):
        assert f'pxap/{key}' in res, key  # the keys docs/evaluation.md lists
    assert res['pxap/count_medium'] == 6 and res['pxap/count_small'] == 0
    assert sorted(os.listdir(plots)) == ['pxap_pr_curve.png', 'pxap_size_bins.png']


def test_any_map_size_and_synthetic_dataset(tiny_synthetic, tmp_path):
    """SyntheticWSOL is a --dataset choice; maps of any size define their own frame."""
    from wsol_mm.datasets.metadata import read_wsol_metadata
    recs = read_wsol_metadata(osp.join(tiny_synthetic, 'metadata', 'test'))
    cams = str(tmp_path / 'cams')
    for rec in recs:  # a perfect 40 x 52 map: the GT boxes rescaled as eval_cams does
        w, h = rec['ori_size']
        cam = np.zeros((40, 52))
        for x0, y0, x1, y1 in rec['gt_bboxes']:
            cam[int(y0 * 40 / h):int(y1 * 40 / h) + 1, int(x0 * 52 / w):int(x1 * 52 / w) + 1] = 1
        save_scoremap(cams, rec['img_id'], cam)
    out = str(tmp_path / 'res.json')
    assert _tool().main(['--metadata-root', tiny_synthetic, '--dataset', 'SyntheticWSOL',
                         '--split', 'test', '--scoremap-root', cams, '--no-progress',
                         '--out', out]) == 0
    res = json.load(open(out))
    assert res['num_images'] == len(recs) and 0 < res['maxboxaccv2/iou30'] <= 100


def _break(root: str, breakage: str) -> None:
    cam_path = osp.join(root, 'cams', '001.cls', 'img_1.jpg.npy')
    loc = osp.join(root, 'metadata', 'CUB', 'test', 'localization.txt')
    lines = open(loc).read().split('\n')
    if breakage == 'missing':
        os.remove(cam_path)
    elif breakage == 'garbage':
        with open(cam_path, 'wb') as f:
            f.write(b'\x80\x04not a numpy file at all')
    elif breakage == 'pickled':
        np.save(cam_path, np.array([{'a': 1}], dtype=object), allow_pickle=True)
    elif breakage in ('ndim', 'nan', 'range', 'int'):
        cam = {'ndim': np.zeros((2, 10, 10)), 'nan': np.full((224, 224), np.nan),
               'range': np.full((224, 224), 2.0), 'int': np.ones((224, 224), np.int64)}
        np.save(cam_path, cam[breakage])
    else:
        lines[1] = {'fields': lines[1] + ',7', 'text': '001.cls/img_1.jpg,15,8,abc,73',
                    'order': '001.cls/img_1.jpg,90,8,20,73',
                    'outside': '001.cls/img_1.jpg,15,8,310,73'}[breakage]
        _write(loc, lines)


@pytest.mark.parametrize('breakage,message', [
    ('missing', '1 of 3 score maps missing, e.g. {cams}/001.cls/img_1.jpg.npy'),
    ('garbage', '{cams}/001.cls/img_1.jpg.npy: not a readable .npy score map'),
    ('pickled', '{cams}/001.cls/img_1.jpg.npy: not a readable .npy score map (not a plain '
                'array: numpy would have to unpickle it)'),
    ('ndim', '{cams}/001.cls/img_1.jpg.npy: score map shape (2, 10, 10), expected 2-D'),
    ('nan', '{cams}/001.cls/img_1.jpg.npy: score map contains NaN'),
    ('range', '{cams}/001.cls/img_1.jpg.npy: values must be in [0, 1]'),
    ('int', '{cams}/001.cls/img_1.jpg.npy: score maps are float arrays'),
    ('fields', '{loc}:2: expected 5 comma-separated fields, got 6'),
    ('text', "{loc}:2: 'abc' is not a valid float"),
    ('order', '{loc}:2: box'),
    ('outside', '{loc}:2: box'),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path, capsys, breakage, message):
    root = str(tmp_path)
    _tree(root, 'CUB', n=3)
    _break(root, breakage)
    assert _tool().main(_argv(root, 'CUB')) == 1
    err = capsys.readouterr().err
    loc = osp.join(root, 'metadata', 'CUB', 'test', 'localization.txt')
    assert message.format(cams=osp.join(root, 'cams'), loc=loc) in err
    assert err.count('\n') == 1 and err.startswith('error: ')
    assert 'allow_pickle' not in err  # never advise an unsafe load of a score map
    if breakage == 'outside':
        assert 'outside the image of size W=310, H=205' in err
    if breakage == 'order':
        assert '0 <= x0 <= x1' in err


def test_user_errors_exit_without_traceback(tmp_path):
    root = str(tmp_path)
    _tree(root, 'CUB', n=3)
    _break(root, 'garbage')
    proc = _subprocess(_argv(root, 'CUB'))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.strip().startswith('error: ') and 'img_1.jpg.npy' in proc.stderr
    usage = _subprocess(['--scoremap-root', root, '--dataset', 'CUB'])
    assert usage.returncode == 2 and 'needs --metadata-root, --dataset and --split' in usage.stderr
    no_sidecar = _subprocess(['--scoremap-root', osp.join(root, 'cams'), '--no-progress'])
    assert no_sidecar.returncode == 1 and 'wsol_mm_samples.npz not found' in no_sidecar.stderr
    assert 'Traceback' not in no_sidecar.stderr


def test_thread_count_does_not_change_results(tmp_path, monkeypatch, capsys):
    """Several batches (read ahead by a thread), scored on 1 or 3 threads: same JSON."""
    from wsol_mm.evaluation import offline_eval
    from wsol_mm.evaluation.scorers.image_pool import set_eval_threads
    root = str(tmp_path)
    _tree(root, 'CUB', n=7)
    monkeypatch.setattr(offline_eval, '_CHUNK', 3)  # 3 batches: 3 + 3 + 1 maps
    results = []
    try:
        for threads in ('1', '3'):
            out = osp.join(root, f'res{threads}.json')
            assert _tool().main(_argv(root, 'CUB', '--threads', threads, '--out', out)) == 0
            results.append(json.load(open(out)))
    finally:
        set_eval_threads(None)
    assert results[0] == results[1] and results[0]['num_images'] == 7
    with pytest.raises(SystemExit):
        _tool().main(_argv(root, 'CUB', '--threads', '0'))
    assert '--threads must be at least 1' in capsys.readouterr().err


def test_process_exit_keeps_every_output(tmp_path, capsys):
    """The tool ends without the interpreter's teardown: piped stdout (block-buffered), the
    JSON and the exit status must still be those of the in-process run."""
    root = str(tmp_path)
    _tree(root, 'CUB', n=4)
    out = osp.join(root, 'sub.json')
    proc = _subprocess(_argv(root, 'CUB', '--out', out))
    assert proc.returncode == 0, proc.stderr
    assert _tool().main(_argv(root, 'CUB', '--out', osp.join(root, 'in.json'))) == 0
    assert proc.stdout == capsys.readouterr().out.replace('in.json', 'sub.json')
    assert proc.stdout.rstrip().endswith(f'results written to {out}')
    assert json.load(open(out)) == json.load(open(osp.join(root, 'in.json')))
