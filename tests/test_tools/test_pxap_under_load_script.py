"""``benchmarks/pxap_under_load.py`` runs: the three ways' records checked identical (the
script exits 1 otherwise), a row per condition with both ratios printed (never asserted)."""
import re

from script_runner import NUM, run_benchmark


def test_pxap_under_load_prints_every_condition():
    out = run_benchmark('pxap_under_load.py', '--num-images', '16', '--reps', '1',
                        '--interval', '0.01')
    if 'nothing to measure' in out.stdout:  # one CPU, or numba not on GNU OpenMP
        return
    for condition in ('idle, back to back', 'idle, after a torch op',
                      r'a busy loop on CPU \d+, back to back',
                      r'a busy loop on CPU \d+, after a torch op'):
        row = rf'^{condition} +(?:{NUM} / +{NUM} +){{3}}{NUM}x +{NUM}x$'
        assert re.search(row, out.stdout, re.M), out.stdout
    assert out.stdout.rstrip().endswith('records identical')
