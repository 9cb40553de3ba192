"""``benchmarks/newton_schulz.py`` runs: the in-place and the compiled weight checked to the
bit, the row products against the eigenbasis block, their written-out backward against
autograd's and the fallback re-run against two solves (the script exits otherwise); every
table row and per-step saving printed (never asserted)."""
import re

from script_runner import NUM, run_benchmark


def test_newton_schulz_prints_every_row():
    out = run_benchmark('newton_schulz.py', '--reps', '1', '--batch', '2', '--threads', '1')
    labels = ['block K=16, loop -> eigen', 'block K=4, loop -> eigen',
              'backward weight K=16, fresh tensors -> in place',
              'backward weight K=4, fresh tensors -> in place',
              'rows K=4 forward + backward, autograd -> written out',
              'block K=4, eigen -> polynomial', 'block K=5, eigen -> polynomial',
              'fallback re-run K=16, second decomposition -> reused']
    for label in labels:
        row = rf'^\| {re.escape(label)} \| {NUM} / {NUM} \| {NUM} / {NUM} \| {NUM}x / {NUM}x \|$'
        assert re.search(row, out.stdout, re.M), out.stdout
    compiled = r'backward -W \* outer K=(16|4), torch in place -> compiled'
    rows = re.findall(rf'^\| {compiled} \| {NUM} / {NUM} \| {NUM} / {NUM} \| {NUM}x / '
                      rf'{NUM}x \|$', out.stdout, re.M)
    assert rows == ['16', '4'] or 'numba missing' in out.stdout, out.stdout
    for method, steps in (('SCM', '16, 4, 4, 4'), ('LCA-MD', '16, 4')):
        weight = (rf'^# {method} \({steps} steps\): the in-place weight saves -?{NUM} ms per '
                  rf'training step, the compiled one -?{NUM} ms more \(fastest times; ')
        rows = (rf'^# {method} \({steps} steps\): the rows save -?{NUM} ms per training '
                rf'step \(fastest times\); the written-out backward -?{NUM} ms more$')
        for line in (weight, rows):
            assert re.search(line, out.stdout, re.M), out.stdout
    assert '# POLYNOMIAL_MAX_ITERS = 5' in out.stdout
    assert 'K=6' not in out.stdout  # a block refuses the rows above 5 steps
