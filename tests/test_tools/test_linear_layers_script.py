"""``benchmarks/linear_layers.py``: the products' table says which path ``onednn_linear``
takes on this CPU, and the step table's extra side runs every product through oneDNN."""
import os.path as osp
import re
import sys

import pytest
from script_runner import run_script

from wsol_mm.models.utils import onednn_linear_function

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = r'[0-9]+\.[0-9]+'

pytestmark = pytest.mark.skipif(onednn_linear_function._LINEAR is None,
                                reason='torch without oneDNN linear: the script stops')


def test_products_name_the_path_taken_and_the_steps_print():
    out = run_script([sys.executable, osp.join('benchmarks', 'linear_layers.py'),
                      '--methods', '--steps', '1', '--warmup', '0', '--reps', '1',
                      '--batch', '1', '--size', '32', '--threads', '1'], cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    flag = re.search(r'MKL weight gradients \(MKL_WEIGHT_GRAD\): (yes|no)$', out.stdout, re.M)
    assert flag, out.stdout
    mkl = flag.group(1) == 'yes'
    for layer, k, n in (('qkv', 384, 1152), ('proj', 384, 384), ('fc1', 384, 1536),
                        ('fc2', 1536, 384)):
        for part in ('forward', 'input grad', 'weight grad'):
            taken = 'MKL' if mkl and part == 'weight grad' and k <= n else 'oneDNN'
            row = rf'^\| {layer} {k}->{n} \| {part} \| {NUM} \| {NUM} \| {NUM}x \| {taken} \|$'
            assert re.search(row, out.stdout, re.M), (row, out.stdout)
    assert re.search(rf'^\| one block \| all \| {NUM} \| {NUM} \| {NUM}x \| {NUM} ms, {NUM}x \|$',
                     out.stdout, re.M), out.stdout
    last = rf'{NUM}x' if mkl else '-'
    assert re.search(rf'^\| plain \| {NUM} \| {NUM} \| {NUM}x \| {NUM}x \| {NUM} \| {NUM} \| '
                     rf'{last} \|$', out.stdout, re.M), out.stdout


def test_every_product_through_onednn_clears_the_flag_around_each_step(monkeypatch):
    """The extra side's steps see ``MKL_WEIGHT_GRAD`` off, and the flag is restored after
    each step, also when the step raises."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    import linear_layers
    from variants import Variant
    # as on a Zen 4: the module's flag and the value the script restores are both on
    monkeypatch.setattr(onednn_linear_function, 'MKL_WEIGHT_GRAD', True)
    monkeypatch.setattr(linear_layers, 'MKL_WEIGHT_GRAD', True)
    seen = []

    def step():
        seen.append(onednn_linear_function.MKL_WEIGHT_GRAD)
        if len(seen) == 2:
            raise RuntimeError('a failing step')

    variant = Variant('plain', step)
    linear_layers.every_product_through_onednn(variant)
    variant.step()
    assert seen == [False] and onednn_linear_function.MKL_WEIGHT_GRAD is True
    with pytest.raises(RuntimeError, match='a failing step'):
        variant.step()
    assert seen == [False, False] and onednn_linear_function.MKL_WEIGHT_GRAD is True
