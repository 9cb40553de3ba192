"""bfloat16 autocast training on CPU and GPU (what ``tools/train.py --amp`` selects)."""
import importlib
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.optim import build_optim_wrapper

import wsol_mm  # noqa: F401
from wsol_mm.engine.optimizers import amp_optim_wrapper, bf16_note, mixed_precision
from wsol_mm.utils import UserError, register_all_modules

register_all_modules()


def _wrapper(model: nn.Module, **kwargs):
    return build_optim_wrapper(model, dict(type='AutocastOptimWrapper',
                                           optimizer=dict(type='SGD', lr=0.1), **kwargs))


def test_forward_runs_in_bf16_and_parameters_stay_float32():
    model = nn.Linear(4, 3)
    wrapper = _wrapper(model)
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu')
        assert torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(torch.randn(2, 4))
    assert out.dtype == torch.bfloat16 and not torch.is_autocast_enabled('cpu')
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().square().mean())  # no loss scaler needed
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)


def test_float16_is_refused_with_the_key_to_change():
    with pytest.raises(ValueError, match='optim_wrapper.dtype.*AmpOptimWrapper'):
        _wrapper(nn.Linear(2, 2), dtype='float16')


def test_state_dict_round_trip_and_amp_checkpoints_load():
    model = nn.Linear(4, 3)
    wrapper = _wrapper(model)
    wrapper.update_params(model(torch.randn(2, 4)).square().mean())
    state = wrapper.state_dict()
    other = _wrapper(nn.Linear(4, 3))
    other.load_state_dict(dict(state, loss_scaler={'scale': 65536.0}))  # AmpOptimWrapper's
    assert other.state_dict()['param_groups'] == state['param_groups']


def test_amp_choice_per_device(monkeypatch):
    cpu = amp_optim_wrapper(ConfigDict(optimizer=dict(type='SGD', lr=0.1)), 'cpu')
    assert cpu.type == 'AutocastOptimWrapper' and cpu.dtype == 'bfloat16'
    amp = ConfigDict(type='AmpOptimWrapper', loss_scale=512.0, optimizer=dict(type='SGD'))
    assert amp_optim_wrapper(amp, 'cpu').type == 'AutocastOptimWrapper' and 'loss_scale' not in amp
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    old_gpu = amp_optim_wrapper(ConfigDict(optimizer=dict(type='SGD')), 'cuda')
    assert old_gpu.type == 'AmpOptimWrapper' and old_gpu.dtype == 'float16'
    with pytest.raises(UserError, match='--amp.*MyWrapper'):
        amp_optim_wrapper(ConfigDict(type='MyWrapper', optimizer=dict(type='SGD')), 'cpu')


def test_emulated_bf16_is_reported(monkeypatch):
    monkeypatch.setattr(mixed_precision, 'cpu_has_bf16', lambda: False)
    assert 'AVX-512-BF16' in bf16_note('cpu')
    assert bf16_note('cuda') is None
    monkeypatch.setattr(mixed_precision, 'cpu_has_bf16', lambda: True)
    assert bf16_note('cpu') is None


@pytest.mark.parametrize('avx512_bf16,amx,units', [
    (True, False, ['AVX-512-BF16']),  # AMD Zen 4 / Zen 5
    (True, True, ['AVX-512-BF16', 'AMX']),  # Intel Sapphire Rapids and later
    (False, False, []),
])
def test_cpu_bf16_units_name_what_the_cpu_has(monkeypatch, avx512_bf16, amx, units):
    monkeypatch.setattr(torch.cpu, '_is_avx512_bf16_supported', lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, '_is_amx_tile_supported', lambda: amx)
    assert mixed_precision.cpu_bf16_units() == units
    assert mixed_precision.cpu_has_bf16() == bool(units)


def test_train_step_benchmark_names_the_bf16_units(monkeypatch):
    """The training-step benchmarks' machine line (``benchmarks/step_report.py``) says
    which unit runs bfloat16."""
    bench = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', '..', 'benchmarks')
    monkeypatch.syspath_prepend(bench)
    report = importlib.import_module('step_report')
    assert report.cpu_bf16_line(['AVX-512-BF16']) == 'bf16 yes (AVX-512-BF16, no AMX)'
    assert report.cpu_bf16_line(['AVX-512-BF16', 'AMX']) == 'bf16 yes (AVX-512-BF16 and AMX)'
    assert report.cpu_bf16_line([]).startswith('bf16 NO: this CPU lacks AVX-512-BF16 and AMX')
    monkeypatch.setattr(report, 'cpu_bf16_units', lambda: ['AVX-512-BF16'])
    assert ', bf16 yes (AVX-512-BF16, no AMX), torch ' in report.machine_line('cpu', 2)
