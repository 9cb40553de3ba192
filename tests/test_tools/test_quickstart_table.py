"""tools/analysis_tools/quickstart_table.py: the README table comes from a run of the code."""
import os.path as osp
import re
import sys

import pytest
from script_runner import run_script

from wsol_mm.apis.quickstart_table import check_table, markdown_table, spread

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODEL = {'maxboxaccv2/mean': 53.0, 'maxboxaccv2/iou50': 57.0, 'loc/gt_known': 49.0,
         'maxboxaccv2/size_mean': 47.125, 'cls/top1': 83.0, 'maxboxaccv2/iou30': 1.0}
BASELINES = {'whole-image': {k: 17.0 for k in MODEL},
             'centre-box': {k: 8.0 for k in MODEL}}


def test_table_has_the_readme_rows_and_columns():
    table = markdown_table(MODEL, BASELINES, 'CAM ResNet18, 8 epochs', cam_thr=0.2)
    lines = table.splitlines()
    assert lines[0] == ('| metric | CAM ResNet18, 8 epochs | whole-image box | centred box, '
                        'mean train GT size |')
    assert lines[2] == '| `maxboxaccv2/mean` | **53.00** | 17.00 | 8.00 |'
    assert '| `loc/gt_known` (CAM threshold 0.2) | **49.00** |' in table
    assert '| `maxboxaccv2/size_mean` | **47.12** |' in table or '**47.13**' in table
    assert lines[-1] == '| `cls/top1` | 83.00 | (oracle label) | (oracle label) |'
    assert 'iou30' not in table  # only the README's keys


def test_spread_over_runs():
    runs = [dict(MODEL, **{'maxboxaccv2/mean': v}) for v in (50.0, 53.0, 56.0)]
    stats = spread(runs)['maxboxaccv2/mean']
    assert stats['mean'] == pytest.approx(53.0) and stats['std'] == pytest.approx(3.0)
    assert (stats['min'], stats['max'], stats['n']) == (50.0, 56.0, 3)
    table = markdown_table({k: v['mean'] for k, v in spread(runs).items()}, BASELINES, 'm',
                           runs=spread(runs))
    assert '**53.00 ± 3.00 (50.00-56.00)**' in table


def test_check_finds_the_stale_readme_number():
    readme = open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8').read()
    rows = dict(re.findall(r'^\|\s*`([\w/]+)`[^|]*\|\s*\**([\d.]+)', readme, flags=re.M))
    current = {k: float(v) for k, v in rows.items()}
    assert check_table(readme, current) == []  # the README's own numbers parse back
    stale = check_table(readme, dict(current, **{'maxboxaccv2/mean': 53.0}))
    assert len(stale) == 1 and 'maxboxaccv2/mean' in stale[0] and '53.00' in stale[0]
    generated = markdown_table(MODEL, BASELINES, 'm', cam_thr=0.2)
    assert check_table(generated, MODEL) == []


def test_repeats_train_test_and_report_the_spread(tiny_synthetic, tmp_path):
    """Two 1-epoch trainings on the tiny data, tested by tools/test.py, table + --check."""
    gen = "dict(image_size=64, num_classes=4, splits=dict(train=16, val=8, test=8), seed=1)"
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={tiny_synthetic!r}, generator={gen}))")
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"_base_ = [{osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')!r}]\n"
                   f"train_dataloader = {loader}\nval_dataloader = {loader}\n"
                   f"test_dataloader = {loader}\ntrain_cfg = dict(max_epochs=1, val_interval=1)\n"
                   "param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]\n")
    readme = tmp_path / 'README.md'
    readme.write_text('| `maxboxaccv2/mean` | **101.00** | 1 | 2 |\n')
    out = run_script(
        [sys.executable, 'tools/analysis_tools/quickstart_table.py', '--config', str(cfg),
         '--work-dir', str(tmp_path / 'runs'), '--repeats', '2', '--check', str(readme)],
        timeout=900)
    assert out.returncode == 1, out.stderr[-3000:]  # the file's 101.00 is not this run's
    assert 'README.md: maxboxaccv2/mean: the file says 101.00' in out.stderr
    assert 'run 0:' in out.stdout and 'run 1:' in out.stdout and '2 trainings' in out.stdout
    row = re.search(r'^\| `maxboxaccv2/mean` \| \*\*([\d.]+) ± ([\d.]+) \(([\d.]+)-([\d.]+)\)'
                    r'\*\* \| ([\d.]+) \| ([\d.]+) \|$', out.stdout, flags=re.M)
    assert row, out.stdout[-2000:]
    mean, std, low, high = (float(row.group(i)) for i in range(1, 5))
    assert low <= mean <= high and std >= 0
    for i in (0, 1):
        assert osp.isfile(tmp_path / 'runs' / f'repeat_{i}' / 'table_test_metrics.json')
