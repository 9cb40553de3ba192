"""``benchmarks/newton_schulz.py`` runs: the in-place weight checked to the bit, the row
products checked against the eigenbasis block and the fallback re-run against two solves
(the script exits otherwise); every table row and per-step saving printed (never asserted)."""
import os.path as osp
import re
import sys

from script_runner import run_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = r'[0-9]+\.[0-9]+'


def test_newton_schulz_prints_every_row():
    out = run_script([sys.executable, osp.join('benchmarks', 'newton_schulz.py'),
                      '--reps', '1', '--batch', '2', '--threads', '1'], cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    labels = ['block K=16, loop -> eigen', 'block K=4, loop -> eigen',
              'backward weight K=16, fresh tensors -> in place',
              'backward weight K=4, fresh tensors -> in place',
              'block K=4, eigen -> polynomial', 'block K=5, eigen -> polynomial',
              'fallback re-run K=16, second decomposition -> reused']
    for label in labels:
        row = rf'^\| {re.escape(label)} \| {NUM} / {NUM} \| {NUM} / {NUM} \| {NUM}x / {NUM}x \|$'
        assert re.search(row, out.stdout, re.M), out.stdout
    for method, steps in (('SCM', '16, 4, 4, 4'), ('LCA-MD', '16, 4')):
        for part in ('the in-place weight saves', 'the rows save'):
            line = (rf'^# {method} \({steps} steps\): {part} -?{NUM} ms per training '
                    r'step \(fastest times\)$')
            assert re.search(line, out.stdout, re.M), out.stdout
    assert '# POLYNOMIAL_MAX_ITERS = 5' in out.stdout
    assert 'K=6' not in out.stdout  # a block refuses the rows above 5 steps
