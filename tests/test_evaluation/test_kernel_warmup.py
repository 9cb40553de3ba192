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


def test_scorer_threads_wait_for_a_running_warmup_together():
    """Several scoring threads reach the wait at once: all wait, none fails."""
    from wsol_mm.evaluation.scorers import MaxBoxAccV2Scorer
    from wsol_mm.evaluation.scorers.image_pool import set_eval_threads
    proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(1)'])
    _warmup_state.PROCESSES.append(proc)
    cam = np.zeros((8, 8))
    cam[2:6, 2:6] = 1.0
    samples = [dict(pred_cam=cam, gt_bboxes=np.array([[2., 2., 5., 5.]])) for _ in range(8)]
    scorer = MaxBoxAccV2Scorer(cam_curve_interval=0.1)
    set_eval_threads(4)
    try:
        scorer.process(None, samples)
    finally:
        set_eval_threads(None)
    assert proc.poll() is not None and not _warmup_state.PROCESSES
    alone = MaxBoxAccV2Scorer(cam_curve_interval=0.1)
    alone.process(None, samples[:1])
    assert len(scorer.results) == 8
    assert scorer.compute_metrics(scorer.results) == alone.compute_metrics(alone.results)
