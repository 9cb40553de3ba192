"""``benchmarks/scan_parts.py`` runs against the current kernels (it calls them directly, so
a kernel's new argument breaks it; timings are printed, never asserted)."""
import re

import pytest
from script_runner import run_benchmark

from wsol_mm.evaluation.functional import HAS_NUMBA


@pytest.mark.skipif(not HAS_NUMBA, reason='the kernels need numba')
def test_scan_parts_prints_every_part():
    out = run_benchmark('scan_parts.py', '--num-images', '3', '--repeat', '1')
    for label in ('sort', 'foreground pass', 'hole pass', 'box_record', 'scorer, 1 thread',
                  'released loop'):
        row = re.search(rf'^{re.escape(label)}\s+([0-9.]+)\s+([0-9.]+)$', out.stdout, re.M)
        assert row, f'no {label!r} row in:\n{out.stdout}'
        assert label == 'hole pass' or float(row[1]) > 0 and float(row[2]) > 0, row[0]
    assert re.search(r'^v1: ratio [0-9.]+x', out.stdout, re.M), out.stdout
    assert re.search(r'^V2: ratio [0-9.]+x', out.stdout, re.M), out.stdout
