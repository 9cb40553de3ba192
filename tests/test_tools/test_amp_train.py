"""``tools/train.py --amp`` on a CPU: bfloat16 autocast, and the NaN guard still stops a run."""
import os.path as osp
import textwrap

import pytest
import torch
from tools_test_utils import run_tool, write_config

# Test-only hook: a learning rate of 1e6 from a given epoch on.
_DIVERGE = textwrap.dedent('''
    import os
    from mmengine.hooks import Hook
    from wsol_mm.registry import HOOKS

    @HOOKS.register_module()
    class DivergeHook(Hook):
        def before_train_epoch(self, runner):
            if runner.epoch >= int(os.environ.get('DIVERGE_FROM_EPOCH', 1 << 30)):
                for group in runner.optim_wrapper.optimizer.param_groups:
                    group['lr'] = 1e6

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            print('autocast_wrapper', type(runner.optim_wrapper).__name__)
''')


@pytest.fixture(scope='module')
def amp_setup(tiny_synthetic, tmp_path_factory):
    work = tmp_path_factory.mktemp('amp')
    with open(work / 'wsol_amp_faults.py', 'w') as f:
        f.write(_DIVERGE)
    extra = ("custom_imports = dict(imports=['wsol_amp_faults'])\n"
             "custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='DivergeHook')]\n")
    # 32 px instead of the config's 112: bfloat16 convolutions on a CPU without AVX-512-BF16
    # or AMX run torch's slow path, ~25x the float32 step (AMD Zen 3)
    return write_config(str(work / 'cfg.py'), tiny_synthetic, epochs=2, batch_size=4,
                        val_interval=2, extra=extra, input_size=32), str(work)


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU path')
def test_amp_trains_on_cpu_in_bf16(amp_setup, tmp_path):
    cfg, faults = amp_setup
    out = run_tool(['tools/train.py', cfg, '--work-dir', str(tmp_path), '--amp'],
                   extra_path=faults)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'autocast_wrapper AutocastOptimWrapper' in out.stdout
    assert osp.exists(tmp_path / 'epoch_2.pth')


def test_nan_guard_stops_a_bf16_run(amp_setup, tmp_path):
    cfg, faults = amp_setup
    run = str(tmp_path / 'run')
    out = run_tool(['tools/train.py', cfg, '--work-dir', run, '--amp'], extra_path=faults,
                   DIVERGE_FROM_EPOCH='1')
    assert out.returncode == 1, out.stderr[-3000:]
    lines = [line for line in out.stderr.splitlines() if line.startswith('train.py: error: ')]
    assert len(lines) == 1 and 'non-finite loss in epoch 2' in lines[0], out.stderr[-3000:]
    assert open(osp.join(run, 'last_checkpoint')).read().endswith('epoch_1.pth')
