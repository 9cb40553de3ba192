"""The kernel warm-up: compiles (or loads) every kernel, and is skipped once they are cached."""
import subprocess
import sys

import numpy as np
import pytest

from wsol_mm.evaluation.functional import HAS_NUMBA, _warmup_state, scan_thresholds
from wsol_mm.evaluation.functional.kernel_warmup import (
    kernels_cached,
    start_kernel_warmup,
    warm_up_kernels,
)

pytestmark = pytest.mark.skipif(not HAS_NUMBA, reason='the kernels need numba')


def test_warm_up_fills_the_cache_and_metrics_then_start_nothing():
    warm_up_kernels()
    assert kernels_cached()
    assert start_kernel_warmup() is None  # cached: no process


def test_warm_up_module_runs_as_a_command():
    out = subprocess.run([sys.executable, '-m', 'wsol_mm.evaluation.functional.kernel_warmup'],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]


def test_first_scan_waits_for_a_running_warmup():
    # compiling the same kernels in both processes would only compete for the cores
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1)'])
    _warmup_state.PROCESSES.append(proc)
    scan_thresholds(np.zeros((4, 4)), [[0, 0, 1, 1]], False, thresholds=[0.5])
    assert proc.poll() is not None and not _warmup_state.PROCESSES
