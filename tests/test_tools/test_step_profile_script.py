"""``benchmarks/step_profile.py``: the products' FLOPs are counted exactly, every class of
operators is accounted for, and the script runs on the current builders."""
import os.path as osp
import re
import sys

import pytest
import torch
from script_runner import run_script

from wsol_mm.models.utils import onednn_linear_function as onednn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = r'[0-9]+(?:\.[0-9]+)?'


@pytest.fixture
def step_profile(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    import step_profile
    return step_profile


def test_products_are_counted_from_their_shapes(step_profile):
    """A linear layer's forward (addmm) and its two gradients (mm): 3 x 2 m k n FLOPs."""
    layer = torch.nn.Linear(7, 3)
    x = torch.randn(5, 7, requires_grad=True)

    def step():
        layer(x).square().sum().backward()

    out = step_profile.profile_steps(step, steps=2, reps=1)
    assert out['flops'] == 3 * 2 * 5 * 7 * 3
    assert out['products'] > 0 and out['alone'] > 0
    accounted = sum(out[c] for c in step_profile.CLASSES) + out['outside operators']
    assert accounted == pytest.approx(out['profiled'], rel=1e-9)
    assert all(name not in step_profile.PRODUCTS for name, _ in out['largest others'])


@pytest.mark.skipif(onednn._LINEAR is None, reason='torch without oneDNN')
def test_onednn_products_are_counted(step_profile):
    """Where the blocks' linear layers take oneDNN (AMD CPUs with AVX-512), their products
    are ``mkldnn::_linear_pointwise`` calls, counted and timed alone like ``mm``: a layer
    that narrows (7 -> 3) goes through oneDNN for all three products on every CPU."""
    weight = torch.randn(3, 7, requires_grad=True)
    bias = torch.randn(3, requires_grad=True)
    x = torch.randn(5, 7, requires_grad=True)

    def step():
        onednn.OneDNNLinearFunction.apply(x, weight, bias).square().sum().backward()

    out = step_profile.profile_steps(step, steps=2, reps=1)
    assert out['flops'] == 3 * 2 * 5 * 7 * 3
    assert out['products'] > 0 and out['alone'] > 0
    assert all(name not in step_profile.PRODUCTS for name, _ in out['largest others'])


def test_steps_are_timed_round_robin(step_profile, monkeypatch, capsys):
    """The timed steps alternate between the variants (a slow phase of the host hits all of
    them alike); the profiled steps come after, one variant at a time."""
    calls = []
    layer = torch.nn.Linear(4, 2)

    class FakeVariant:
        def __init__(self, spec):
            self.name = spec['name']

        def step(self):
            calls.append(self.name)
            layer(torch.randn(3, 4)).sum().backward()

    monkeypatch.setattr(step_profile, 'build_variant', FakeVariant)
    monkeypatch.setattr(step_profile, 'apply_cpu_malloc', lambda *args, **kwargs: '')
    monkeypatch.setattr(sys, 'argv', ['step_profile.py', '--steps', '3', '--reps', '1'])
    step_profile.main()
    names = ['wsol_mm plain', 'timm', 'wsol_mm tscam']
    # two warm-up steps each, three timed rounds, then three profiled steps per variant
    assert calls[:6] == names * 2
    assert calls[6:15] == names * 3
    assert calls[15:] == [name for name in names for _ in range(3)]
    assert '(rounds ' in capsys.readouterr().out


def test_operator_classes(step_profile):
    assert step_profile.op_class('aten::addmm') == 'products'
    assert step_profile.op_class('aten::_scaled_dot_product_flash_attention_for_cpu') == \
        'attention'
    assert step_profile.op_class('aten::bmm') == 'attention'  # the released code's attention
    assert step_profile.op_class('aten::convolution_backward') == 'convolution'
    assert step_profile.op_class('aten::_fused_adamw_') == 'optimizer'
    assert step_profile.op_class('aten::gelu') == 'other operators'
    assert step_profile.product_flops('aten::mm', [[4, 6], [6, 2]]) == 2 * 4 * 6 * 2
    assert step_profile.product_flops('aten::addmm', [[2], [4, 6], [6, 2], [], []]) == 96
    assert step_profile.op_class('mkldnn::_linear_pointwise') == 'products'
    # input (4, 6), weight (2, 6): the output is (4, 2)
    assert step_profile.product_flops('mkldnn::_linear_pointwise',
                                      [[4, 6], [2, 6], [2], [], [], []]) == 96
    assert step_profile.product_flops('mkldnn::_linear_pointwise',
                                      [[3, 4, 6], [2, 6], [], [], [], []]) == 2 * 12 * 6 * 2


def test_script_prints_a_row_per_variant():
    out = run_script([sys.executable, osp.join('benchmarks', 'step_profile.py'), '--steps', '1',
                      '--reps', '1', '--batch', '1', '--size', '32', '--threads', '1'], cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ('wsol_mm plain', 'timm', 'wsol_mm tscam'):
        cells = rf'{NUM} %'
        row = (rf'^\| {name} \| {NUM} \| ' + r' \| '.join([cells] * 6)
               + rf' \| {NUM} \| {NUM} \| {NUM} \| {NUM} \|$')
        assert re.search(row, out.stdout, re.M), (name, out.stdout)
    # the step ratio comes from round-robin steps: its median and each round's range
    ratio = re.search(rf'^# timm step / wsol_mm plain step: ({NUM})x \(rounds ({NUM})-({NUM})x'
                      rf'\); / wsol_mm plain\'s floor: {NUM}x', out.stdout, re.M)
    assert ratio, out.stdout
    # a ratio of two medians lies within the range of the rounds' ratios
    median_ratio, lowest, highest = map(float, ratio.groups())
    assert lowest <= median_ratio <= highest
    assert 'one step of each variant in turn' in out.stdout


def test_a_wrong_checkout_is_named():
    out = run_script([sys.executable, osp.join('benchmarks', 'step_profile.py'), '--tscam',
                      'no_such_dir'], cwd=REPO)
    assert out.returncode != 0
    assert 'no_such_dir' in out.stderr and 'vasgaowei/TS-CAM' in out.stderr, out.stderr
