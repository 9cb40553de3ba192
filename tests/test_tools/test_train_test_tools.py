"""tools/train.py, tools/test.py and dist_train.sh end to end, in subprocesses."""
import glob
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
import torch

# The helpers are shared with the other subprocess tests of the tools.
from tools_test_utils import free_port
from tools_test_utils import run_tool as _run
from tools_test_utils import table_metrics as _metrics
from tools_test_utils import write_config as _write_config

from wsol_mm.malloc_preload import find_tcmalloc


@pytest.fixture(scope='module')
def trained(tiny_synthetic, tmp_path_factory):
    work = tmp_path_factory.mktemp('train')
    cfg = _write_config(str(work / 'cfg.py'), tiny_synthetic, epochs=1)
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(work / 'run')])
    assert out.returncode == 0, out.stderr[-3000:]
    return cfg, str(work / 'run')


def test_train_writes_checkpoint_and_best(trained):
    _, run = trained
    assert osp.isfile(osp.join(run, 'epoch_1.pth'))
    last = open(osp.join(run, 'last_checkpoint')).read().strip()
    assert last.endswith('epoch_1.pth')
    assert glob.glob(osp.join(run, 'best_maxboxaccv2_mean_epoch_1.pth'))
    assert not glob.glob(osp.join(run, '.tmp-*')), 'atomic writes left a temp file'


def test_resume_continues_from_last_checkpoint(trained, tmp_path):
    cfg, run = trained
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', run, '--resume',
                '--cfg-options', 'train_cfg.max_epochs=2'])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed epoch: 1' in out.stdout + out.stderr
    assert osp.isfile(osp.join(run, 'epoch_2.pth'))


def test_test_tool_prints_table_dumps_and_draws(trained, tmp_path):
    cfg, run = trained
    pkl = str(tmp_path / 'preds.pkl')
    maps = str(tmp_path / 'maps')
    out = _run([sys.executable, 'tools/test.py', cfg, osp.join(run, 'epoch_1.pth'), '--work-dir',
                str(tmp_path), '--out', pkl, '--show-dir', 'vis', '--out-scoremaps', maps])
    assert out.returncode == 0, out.stderr[-3000:]
    # --malloc auto (the default): on tcmalloc where it is installed, else says how to get it
    assert ('allocator  tcmalloc (preloaded)' if find_tcmalloc() else
            'allocator  glibc malloc (tcmalloc makes CPU steps faster') in out.stdout
    metrics = _metrics(out.stdout)
    for key in ('cls/top1', 'maxboxaccv2/mean', 'loc/gt_known'):
        assert 0 <= metrics[key] <= 100
    with open(pkl, 'rb') as f:
        preds = pickle.load(f)
    assert len(preds) == 8 and preds[0]['pred_cam'].shape == (112, 112)
    assert len(glob.glob(str(tmp_path / '*' / 'vis' / '*.png'))) == 8
    saved = glob.glob(osp.join(maps, '**', '*.npy'), recursive=True)
    assert len(saved) == 8 and np.load(saved[0]).shape == (112, 112)


def test_test_tool_rejects_mismatched_checkpoint(trained, tmp_path):
    cfg, _ = trained
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict={'head.fc.weight': torch.zeros(4, 512), 'extra.w': torch.ones(1)},
                    meta={}), bad)
    out = _run([sys.executable, 'tools/test.py', cfg, bad, '--work-dir', str(tmp_path)])
    assert out.returncode != 0
    assert 'does not match the model' in out.stderr
    assert 'missing keys' in out.stderr and 'extra.w' in out.stderr


def test_cfg_options_typo_is_reported(trained, tmp_path):
    cfg, _ = trained
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path),
                '--cfg-options', 'model.hed.num_classes=3'])
    assert out.returncode != 0
    assert "model has no key 'hed'" in out.stderr


@pytest.mark.parametrize('malloc', ['tcmalloc', 'glibc'])
def test_malloc_option_preloads_tcmalloc_or_says_how_to_install_it(trained, tmp_path, malloc):
    cfg, _ = trained
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path),
                '--no-validate', '--malloc', malloc])
    if malloc == 'glibc':  # the C library's allocator, and the summary says so
        assert out.returncode == 0, out.stderr[-3000:]
        assert 'allocator  glibc malloc (tcmalloc ' in out.stdout
    elif find_tcmalloc() is None:  # asked for, missing: one message, nothing trained
        assert out.returncode != 0
        assert 'no tcmalloc library found' in out.stderr and 'apt install' in out.stderr
        assert not glob.glob(str(tmp_path / '*.pth'))
    else:
        assert out.returncode == 0, out.stderr[-3000:]
        assert 'allocator  tcmalloc (preloaded)' in out.stdout


def test_num_classes_mismatch_is_reported(trained, tmp_path):
    cfg, _ = trained
    out = _run([sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path),
                '--cfg-options', 'model.head.num_classes=5'])
    assert out.returncode != 0
    assert 'num_classes=5 but the train dataset' in out.stderr


def test_dist_train_two_cpu_processes_match_single_process(trained, tmp_path):
    """2-process gloo training runs, and its evaluation equals a 1-process evaluation."""
    cfg, _ = trained
    run = str(tmp_path / 'ddp')
    # Batch 1 in both evaluations: every image goes through the same-shaped kernels on one
    # thread (OMP_NUM_THREADS=1 in _run), so the score maps, and hence every key, are equal
    # on any CPU; per-rank batches of a different size would round differently.
    one = ['--cfg-options', 'test_dataloader.batch_size=1']
    out = _run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', run, '--test'] + one,
               PORT=free_port())
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    ddp_metrics = _metrics(out.stdout)
    ckpt = open(osp.join(run, 'last_checkpoint')).read().strip()
    single = _run([sys.executable, 'tools/test.py', cfg, ckpt, '--work-dir', str(tmp_path)]
                  + one)
    assert single.returncode == 0, single.stderr[-3000:]
    single_metrics = _metrics(single.stdout)
    assert ddp_metrics and set(ddp_metrics) == set(single_metrics)
    for key, value in single_metrics.items():
        assert np.isclose(ddp_metrics[key], value, atol=1e-6), key


# Runs a tool's main() as one rank of a 1-process gloo group, then lists the gloo threads left.
_RUN_AS_RANK = (
    "import os, runpy, sys\n"
    "sys.argv = sys.argv[1:]\n"
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
    "tasks = [open(f'/proc/self/task/{t}/comm').read().strip() "
    "for t in os.listdir('/proc/self/task')]\n"
    "print('gloo threads left:', sorted(t for t in tasks if 'gloo' in t))\n")


@pytest.mark.skipif(not osp.isdir('/proc/self/task'), reason='thread names need Linux /proc')
@pytest.mark.parametrize('tool', ['train', 'test'])
def test_distributed_tools_end_with_the_gloo_threads_joined(trained, tmp_path, tool):
    """train.py / test.py under ``--launcher pytorch`` end with their process group destroyed
    and its threads joined: no runner in ``main``'s frame keeps the group alive into
    interpreter shutdown, where gloo could abort the rank (report_user_errors)."""
    cfg, run = trained
    args = (['tools/train.py', cfg] if tool == 'train' else
            ['tools/test.py', cfg, osp.join(run, 'epoch_1.pth')])
    out = _run([sys.executable, '-c', _RUN_AS_RANK] + args + [
        '--launcher', 'pytorch', '--work-dir', str(tmp_path)], RANK='0', LOCAL_RANK='0',
        WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT=free_port())
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'gloo threads left: []' in out.stdout, out.stdout[-2000:]


def test_dist_test_prints_the_table_once(trained, tmp_path):
    """dist_test.sh with 2 CPU processes: one results table (rank 0), one metrics JSON."""
    import json
    cfg, run = trained
    port = free_port()
    out = _run(['bash', 'tools/dist_test.sh', cfg, osp.join(run, 'epoch_1.pth'), '2',
                '--work-dir', str(tmp_path), '--metrics-json', str(tmp_path / 'm.json')],
               PORT=port)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    headers = [line for line in out.stdout.splitlines() if line.startswith('metric ')]
    assert len(headers) == 1, out.stdout[-4000:]
    saved, table = json.load(open(tmp_path / 'm.json')), _metrics(out.stdout)
    assert table and set(saved) == set(table)
    assert all(abs(saved[k] - table[k]) <= 0.005 + 1e-9 for k in table)  # 2 decimals
