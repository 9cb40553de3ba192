"""Trustworthy runs end to end: exact resume after SIGKILL, NaN guard, SIGTERM, one-line errors.

Every run here uses one thread (``OMP_NUM_THREADS=1``) and the same shapes, so comparing the
weights of a resumed and an uninterrupted run bitwise is legitimate.
"""
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from tools_test_utils import REPO_ROOT, free_port, run_tool, tool_env, write_config

from wsol_mm.apis import init_localizer

# Test-only hooks: a real SIGKILL at an iteration / half-way through a checkpoint write, and
# a learning rate of 1e6 from a given epoch on; all switched by environment variables.
_FAULTS = textwrap.dedent('''
    import os, signal
    from mmengine.fileio import register_backend
    from mmengine.hooks import Hook
    from wsol_mm.engine import AtomicLocalBackend
    from wsol_mm.registry import HOOKS

    @HOOKS.register_module()
    class FaultHook(Hook):
        def before_train_epoch(self, runner):
            if runner.epoch >= int(os.environ.get('DIVERGE_FROM_EPOCH', 1 << 30)):
                for group in runner.optim_wrapper.optimizer.param_groups:
                    group['lr'] = 1e6

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter == int(os.environ.get('KILL_AT_ITER', -1)):
                os.kill(os.getpid(), signal.SIGKILL)

    if os.environ.get('WINOGRAD_WINS'):  # every Winograd-eligible shape times as the env says
        import wsol_mm.models.layers.winograd_conv2d as wino
        wino.MIN_TILES = 1
        wins = os.environ['WINOGRAD_WINS'] == '1'
        wino._fastest = lambda runs, needs: [2.0, 1.0] if wins else [1.0, 2.0]

    @register_backend('fault_local')
    class FaultBackend(AtomicLocalBackend):
        def put(self, obj, filepath):
            if str(filepath).endswith(os.environ.get('KILL_WRITING', '\\0')):
                # Die inside the real writer: its data is written, the rename not yet done.
                os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
            super().put(obj, filepath)
''')
_EXTRA = ("custom_imports = dict(imports=['wsol_faults'])\n"
          "custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='FaultHook')]\n"
          "model = dict(winograd_convs=True)\n"  # the direct path unless WINOGRAD_WINS is set
          "default_hooks = dict(logger=dict(interval=1), "
          "checkpoint=dict(backend_args=dict(backend='fault_local')))\n")


@pytest.fixture(scope='module')
def setup(tiny_synthetic, tmp_path_factory):
    """(config, folder of the fault module): 2 epochs of 4 iterations, validation at the end."""
    work = tmp_path_factory.mktemp('reliability')
    with open(work / 'wsol_faults.py', 'w') as f:
        f.write(_FAULTS)
    cfg = write_config(str(work / 'cfg.py'), tiny_synthetic, epochs=2, batch_size=4,
                       val_interval=2, extra=_EXTRA)
    return cfg, str(work)


def _train(setup, work_dir, *options, **env) -> subprocess.CompletedProcess:
    cfg, faults = setup
    return run_tool(['tools/train.py', cfg, '--work-dir', work_dir, *options],
                    extra_path=faults, **env)


def _weights(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


def _winograd_choices(path: str) -> dict:
    """The Winograd-or-direct choices a checkpoint stores (ExactResumeHook)."""
    meta = torch.load(path, map_location='cpu', weights_only=False)['meta']
    return {tuple(map(str, key)): faster
            for key, faster in meta['tuned_choices']['choices']['winograd_conv2d']}


def _one_line_error(out: subprocess.CompletedProcess, tool: str) -> str:
    assert out.returncode == 1, out.stderr[-3000:]
    assert 'Traceback' not in out.stderr, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith(f'{tool}: error: ')]
    assert len(lines) == 1, out.stderr[-3000:]
    return lines[0]


def _val_metrics(out: subprocess.CompletedProcess) -> dict:
    text = out.stdout + out.stderr
    line = [row for row in text.splitlines() if 'Epoch(val) [2]' in row and 'cls/top1' in row]
    assert line, text[-3000:]
    return dict(re.findall(r'(\w+/\w+): (-?[\d.]+)', line[0]))  # keys with a '/': metrics


def test_resume_after_sigkill_is_bitwise_exact(setup, tmp_path):
    """Killed mid-epoch, then killed while writing a checkpoint, then resumed with 2 workers.

    The wide 3x3 convolutions take the Winograd path in the first processes; the resumed one
    would time the direct path as the faster, and must take the stored choice instead."""
    ref = _train(setup, str(tmp_path / 'ref'), WINOGRAD_WINS='1')
    assert ref.returncode == 0, ref.stderr[-3000:]
    run = str(tmp_path / 'run')
    killed = _train(setup, run, KILL_AT_ITER='6', WINOGRAD_WINS='1')  # epoch 2, 3rd iteration
    assert killed.returncode == -signal.SIGKILL
    assert os.listdir(run).count('epoch_1.pth') == 1 and not osp.exists(f'{run}/epoch_2.pth')
    killed = _train(setup, run, '--resume', KILL_WRITING='epoch_2.pth', WINOGRAD_WINS='1')
    assert killed.returncode == -signal.SIGKILL
    assert [p for p in os.listdir(run) if p.startswith('.tmp-')], 'expected a half write'
    assert open(osp.join(run, 'last_checkpoint')).read().endswith('epoch_1.pth')
    resumed = _train(setup, run, '--resume', '--cfg-options', 'train_dataloader.num_workers=2',
                     'train_dataloader.persistent_workers=True', WINOGRAD_WINS='0')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1' in resumed.stdout + resumed.stderr
    assert not [p for p in os.listdir(run) if p.startswith('.tmp-')], 'half write left behind'
    choices = [_winograd_choices(f'{d}/epoch_2.pth') for d in (f'{tmp_path}/ref', run)]
    assert choices[0] == choices[1] and choices[0] and all(choices[0].values()), choices
    want, got = _weights(f'{tmp_path}/ref/epoch_2.pth'), _weights(f'{run}/epoch_2.pth')
    assert want.keys() == got.keys()
    assert all(torch.equal(want[k], got[k]) for k in want)
    assert _val_metrics(resumed) == _val_metrics(ref) != {}
    warnings = [line for line in (ref.stdout + ref.stderr).splitlines()
                if 'WARNING' in line and 'deprecated' in line]
    assert not warnings, warnings  # e.g. mmengine's FileClient / HardDiskBackend notices


def test_nan_guard_stops_before_saving_the_diverged_state(setup, tmp_path):
    run = str(tmp_path / 'run')
    out = _train(setup, run, DIVERGE_FROM_EPOCH='1')
    line = _one_line_error(out, 'train.py')
    assert 'non-finite loss in epoch 2, iteration' in line and 'loss=nan' in line, line
    assert 'loss_cls=nan' in line and 'optim_wrapper.optimizer.lr' in line
    assert open(osp.join(run, 'last_checkpoint')).read().endswith('epoch_1.pth')
    assert not osp.exists(osp.join(run, 'epoch_2.pth'))
    assert all(torch.isfinite(v).all() for v in _weights(osp.join(run, 'epoch_1.pth')).values()
               if v.is_floating_point())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mmengine's AmpOptimWrapper needs a GPU")
def test_nan_guard_stops_an_amp_run(setup, tmp_path):
    run = str(tmp_path / 'run')
    out = _train(setup, run, '--amp', DIVERGE_FROM_EPOCH='1')
    line = _one_line_error(out, 'train.py')
    assert 'non-finite loss in epoch 2' in line, line
    assert open(osp.join(run, 'last_checkpoint')).read().endswith('epoch_1.pth')


def test_nan_guard_stops_every_ddp_rank(setup, tmp_path):
    cfg, faults = setup
    out = run_tool(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(tmp_path / 'd'),
                    '--cfg-options', 'optim_wrapper.optimizer.lr=1e6'], extra_path=faults,
                   PORT=free_port())
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if 'error: non-finite loss' in line]
    assert len(errors) == 2 and 'train.py (rank 1): error' in '\n'.join(errors), out.stderr[-3000:]
    assert '(rank 0)' in errors[0] and '(rank 1)' in errors[0]


def _children(pid: int) -> list:
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def test_sigterm_stops_the_dataloader_workers_too(setup, tmp_path):
    cfg, faults = setup
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', cfg, '--work-dir', str(tmp_path / 'run'),
         '--cfg-options', 'train_cfg.max_epochs=20', 'train_dataloader.num_workers=2',
         'train_dataloader.persistent_workers=True'],
        cwd=REPO_ROOT, env=tool_env(faults), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    try:
        for line in proc.stdout:
            if re.search(r'Epoch\(train\) +\[ *1\]\[2/4\]', line):  # workers are running
                break
        workers = _children(proc.pid)
        assert len(workers) >= 2, workers
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert not [w for w in workers if osp.exists(f'/proc/{w}')], 'dataloader workers survived'
    assert proc.returncode == 128 + signal.SIGTERM


@pytest.mark.parametrize('entry', ['test.py', 'resume', 'load_from', 'tscam', 'lca_md', 'scm',
                                   'wsolevaluation'])
def test_malicious_checkpoint_is_refused_by_every_tool(setup, tmp_path, malicious_checkpoint,
                                                       entry):
    cfg, faults = setup
    evil, marker = malicious_checkpoint
    if entry == 'test.py':
        args = ['tools/test.py', cfg, evil, '--work-dir', str(tmp_path)]
    elif entry in ('resume', 'load_from'):
        option = ['--resume', evil] if entry == 'resume' else ['--cfg-options',
                                                               f'load_from={evil}']
        args = ['tools/train.py', cfg, '--work-dir', str(tmp_path), *option]
    else:
        args = [f'tools/model_converters/{entry}_to_wsol_mm.py', evil, str(tmp_path / 'o.pth')]
    out = run_tool(args, extra_path=faults)
    assert out.returncode != 0
    assert f'checkpoint {evil} is not a plain weights file' in out.stderr, out.stderr[-3000:]
    assert f'WSOL_MM_TRUSTED_CHECKPOINTS={evil}' in out.stderr
    if entry in ('test.py', 'resume', 'load_from'):
        _one_line_error(out, 'test.py' if entry == 'test.py' else 'train.py')
    assert not osp.exists(marker), f'{entry} ran the pickled payload'
    assert not osp.exists(tmp_path / 'o.pth')


def test_bad_data_and_config_print_one_line(setup, tiny_synthetic, tmp_path):
    cfg, faults = setup
    data = str(tmp_path / 'data')
    shutil.copytree(tiny_synthetic, data)
    image = sorted(os.listdir(osp.join(data, 'images', 'train')))[0]
    image = osp.join(data, 'images', 'train', image)
    broken = osp.join(image, sorted(os.listdir(image))[0])
    open(broken, 'w').close()  # zero bytes
    out = _train(setup, str(tmp_path / 'run'), '--cfg-options',  # raised in a worker process
                 f'train_dataloader.dataset.data_root={data}', 'train_dataloader.num_workers=2')
    assert f'image {broken} is empty (0 bytes)' in _one_line_error(out, 'train.py')
    plain_cfg = osp.join(REPO_ROOT, 'configs', 'cam', 'resnet18_synthetic.py')
    weights = str(tmp_path / 'weights.pth')  # a valid checkpoint: only the image is bad
    torch.save(dict(state_dict=init_localizer(plain_cfg).state_dict()), weights)
    out = run_tool(['tools/visualization/vis_cam.py', broken, plain_cfg, weights, '--out',
                    str(tmp_path / 'o.png')])
    assert f'image {broken} is empty (0 bytes)' in _one_line_error(out, 'vis_cam.py')
    typo = tmp_path / 'typo.py'
    typo.write_text(f"_base_ = [{cfg!r}]\nmodel = dict(backbone=dict(depht=18))\n")
    out = _train((str(typo), faults), str(tmp_path / 'run'))
    message = _one_line_error(out, 'train.py')  # the config check names the key and the fix
    assert "model.backbone.depht" in message and "did you mean 'depth'" in message
