"""``benchmarks/winograd_conv.py``'s layer table: where ``MKL_WEIGHT_GRAD`` holds it also
times Winograd with every product through oneDNN and prints the speed-up of MKL's weight
gradients; elsewhere those two columns say ``-``."""
import os.path as osp
import re

import pytest
from tools_test_utils import run_tool

from wsol_mm.models.utils import onednn_linear_function


@pytest.mark.skipif(onednn_linear_function._LINEAR is None,
                    reason='torch without oneDNN linear: nothing to compare')
def test_layer_table_times_the_weight_gradient_paths_this_cpu_has():
    out = run_tool([osp.join('benchmarks', 'winograd_conv.py'), '--steps', '0', '--reps', '1',
                    '--batch', '1', '--threads', '1'])
    assert out.returncode == 0, out.stderr[-3000:]
    flag = re.search(r'MKL weight gradients \(MKL_WEIGHT_GRAD\): (yes|no)$', out.stdout, re.M)
    assert flag, out.stdout
    num = r'[0-9]+\.[0-9]+'
    extra = rf'{num} \| {num}' if flag.group(1) == 'yes' else r'- \| -'
    rows = re.findall(rf'^\| [^|]+ \| (\d+)->(\d+) \| \d+ \| {num} \| {num} \| {num} \| '
                      rf'(?:yes|no) \| [0-9.e+-]+ / [0-9.e+-]+ \| {extra} \|$', out.stdout, re.M)
    assert len(rows) == 13, out.stdout  # every layer of the script's list
