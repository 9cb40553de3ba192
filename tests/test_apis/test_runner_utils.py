"""Checkpoint resolution, safe strict loading and one-line user errors of the tools."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from wsol_mm.apis import init_localizer
from wsol_mm.apis.runner_utils import (
    build_runner,
    load_config,
    report_user_errors,
    resolve_auto_resume,
    user_error_message,
)
from wsol_mm.utils import CheckpointError, DataFileError, UserError

CONFIG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                  'configs', 'cam', 'resnet18_synthetic.py')


def test_auto_resume_survives_a_broken_last_checkpoint(tmp_path):
    work = str(tmp_path)
    assert resolve_auto_resume(work) is None  # nothing saved yet: train from scratch
    for n in (2, 10):
        (tmp_path / f'epoch_{n}.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_2.pth'))
    assert resolve_auto_resume(work) == str(tmp_path / 'epoch_2.pth')
    (tmp_path / 'last_checkpoint').write_text('')  # killed while mmengine rewrote it
    assert resolve_auto_resume(work) == str(tmp_path / 'epoch_10.pth')


def test_init_localizer_refuses_malicious_truncated_and_text_checkpoints(malicious_checkpoint,
                                                                    tmp_path):
    evil, marker = malicious_checkpoint
    with pytest.raises(CheckpointError, match='is not a plain weights file'):
        init_localizer(CONFIG, evil)
    assert not osp.exists(marker)
    model = init_localizer(CONFIG)
    full = str(tmp_path / 'full.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), full)
    init_localizer(CONFIG, full)  # a weights-only checkpoint loads
    cut = str(tmp_path / 'cut.pth')
    with open(full, 'rb') as src, open(cut, 'wb') as dst:
        dst.write(src.read()[:os.path.getsize(full) // 3])
    with pytest.raises(CheckpointError, match='cut.pth is truncated or corrupt') as err:
        init_localizer(CONFIG, cut)
    assert 'does not match the model' not in str(err.value)
    text = tmp_path / 'notes.pth'
    text.write_text('best epoch: 3\n')
    with pytest.raises(CheckpointError, match=f'{text} is not a PyTorch checkpoint'):
        init_localizer(CONFIG, str(text))


def test_user_errors_print_one_line_and_exit_1(capsys):
    with pytest.raises(SystemExit) as code:
        with report_user_errors('tool.py'):
            raise DataFileError('image a.png is empty (0 bytes)')
    assert code.value.code == 1
    assert capsys.readouterr().err == 'tool.py: error: image a.png is empty (0 bytes)\n'
    with pytest.raises(ZeroDivisionError):  # internal errors keep their traceback
        with report_user_errors('tool.py'):
            1 / 0
    # As torch re-raises an error of a DataLoader worker: the original message is kept.
    wrapped = DataFileError('Caught DataFileError in DataLoader worker process 1.\nOriginal '
                            'Traceback (most recent call last):\n  File "x.py", line 3\n'
                            'wsol_mm.utils.data_file_error.DataFileError: image b.png is empty')
    assert user_error_message(wrapped) == 'image b.png is empty'


def test_config_file_errors_name_file_and_line(tmp_path):
    with pytest.raises(UserError, match='config file .*nope.py not found'):
        load_config(str(tmp_path / 'nope.py'))
    (tmp_path / 'base.py').write_text('a = 1\nb = (2,\n')
    (tmp_path / 'child.py').write_text("_base_ = ['base.py']\nc = 3\n")
    with pytest.raises(UserError, match=r'base.py, line 2: '):
        load_config(str(tmp_path / 'child.py'))


@pytest.mark.parametrize('drop, missing', [('test_cfg', 'test_cfg'),
                                           ('train_dataloader', 'train_dataloader'),
                                           ('val_evaluator', 'val_evaluator')])
def test_partly_set_loop_keys_are_one_user_error(capsys, drop, missing):
    """A loop's keys set only in part (e.g. a schedule base without a train_dataloader) are a
    config mistake: one line naming the keys, not mmengine's ValueError traceback."""
    cfg = load_config(CONFIG)
    cfg[drop] = None
    with pytest.raises(SystemExit) as exc:
        with report_user_errors('test.py'):
            build_runner(cfg)
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert err.startswith('test.py: error: config: ') and f'but {missing} not' in err, err


# A rank's tool body: DDP over a 1-process gloo group, held in a reference cycle as
# mmengine's runner is; then a success, an internal error or a user error.
_GLOO_EXIT = r'''
import os, socket, sys
import torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.utils import UserError

def gloo_threads():
    names = [open(f'/proc/self/task/{t}/comm').read().strip()
             for t in os.listdir('/proc/self/task')]
    return sorted(n for n in names if 'gloo' in n)

class Runner:
    def __init__(self):
        self.model, self.me = DistributedDataParallel(torch.nn.Linear(4, 2)), self
        self.model(torch.randn(3, 4)).sum().backward()

def body(end):
    runner = Runner()
    # after the DDP backward (an allreduce has run): the threads have started and named
    # themselves (right after init_process_group they may not have yet)
    seen.append(bool(gloo_threads()))
    if end == 'internal':
        raise RuntimeError('boom')
    if end == 'user':
        raise UserError('bad key')

for end in ('ok', 'internal', 'user'):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=0,
                            world_size=1)
    seen = []
    try:
        with report_user_errors('tool.py'):
            body(end)
    except (RuntimeError, SystemExit):
        pass
    print(end, seen, dist.is_initialized(), gloo_threads(), flush=True)
'''


@pytest.mark.skipif(not osp.isdir('/proc/self/task'), reason='thread names need Linux /proc')
def test_leaving_a_tool_joins_the_gloo_threads(tmp_path):
    """``destroy_process_group`` alone leaves a group that DDP still holds alive, with its
    threads, until the cyclic collector frees the runner, which may be in interpreter
    shutdown, where a gloo thread releasing its last work aborts the rank ("terminate
    called without an active exception"). Leaving ``report_user_errors`` must end the
    threads then and there: on success, on an internal error and on a user error."""
    script = tmp_path / 'gloo_exit.py'
    script.write_text(_GLOO_EXIT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.splitlines() == ['ok [True] False []', 'internal [True] False []',
                                       'user [True] False []'], out.stdout + out.stderr[-2000:]
