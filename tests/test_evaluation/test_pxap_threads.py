"""PxAP's groups of maps on numba's threads: the same histograms as one thread, the right
map named when one is bad, and the scorer's choice between numba's and its own threads."""
import json
import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from wsol_mm.evaluation.functional import (
    HAS_NUMBA,
    parallel_threads,
    pixel_histograms,
    pixel_histograms_many,
    pxap,
    threshold_list,
)
from wsol_mm.evaluation.scorers import PxAPScorer, image_pool

pytestmark = pytest.mark.skipif(not HAS_NUMBA, reason='the group kernels need numba')


def _group(rng, dtype, shape, n, with_ignore):
    cams = [rng.random(shape).astype(dtype) for _ in range(n)]
    for cam in cams[::3]:
        cam[0, :3] = (0.0, 0.5, 1.0)  # the ends and an edge
    gts = [rng.random(shape) < 0.3 for _ in range(n)]
    ignores = [rng.random(shape) < 0.2 if with_ignore else None for _ in range(n)]
    return list(zip(cams, gts, ignores))


@pytest.mark.parametrize('interval', [0.01, 0.001])
@pytest.mark.parametrize('dtype, shape', [(np.float32, (24, 31)), (np.float64, (17, 40)),
                                          (np.float32, (256, 256))])  # int64 counts
@pytest.mark.parametrize('with_ignore', [False, True])
def test_parallel_group_equals_one_thread(interval, dtype, shape, with_ignore):
    """A group scored on numba's threads (whatever layer runs them here) gives each map's
    histograms, in order, as the one-thread kernel and the per-map path do."""
    rng = np.random.default_rng(21)
    thrs = threshold_list(interval)
    bins = pxap.kernel_bins(thrs)
    for n in (2, pxap.GROUP - 1, pxap.GROUP):
        group = _group(rng, dtype, shape, n, with_ignore)
        kind = (np.dtype(dtype), shape[0] * shape[1] < 65536, with_ignore)
        both = [pxap._group_histograms(group, kind, bins, threads, parallel=threads > 1)
                for threads in (2, 1)]
        for parallel, serial, (cam, gt, ignore) in zip(*both, group):
            one = pixel_histograms(cam, gt, ignore, thrs, stacked=True, compact=True)
            assert parallel.dtype == serial.dtype == one.dtype
            assert np.array_equal(parallel, one) and np.array_equal(serial, one)


@pytest.mark.parametrize('slow', ['parallel', 'serial'])
def test_group_mode_follows_the_timings(monkeypatch, slow):
    """With ``threads > 1`` each group runs the way ``pxap.GROUP_MODE`` picks from the
    timings: when numba's threads are slowed (as by a busy core) the groups go to the
    calling thread, when the calling thread is slowed they go to numba's threads; the
    histograms are the one-thread ones either way."""
    chooser = pxap.ThreadModeChooser(first_interval=2, max_interval=8)
    monkeypatch.setattr(pxap, 'GROUP_MODE', chooser)
    name = '_score_group_parallel' if slow == 'parallel' else '_score_histogram_group'
    kernel = getattr(pxap, name)

    def slowed(*args):
        time.sleep(0.05)  # far above a tiny group's kernel, even on a loaded machine
        return kernel(*args)

    monkeypatch.setattr(pxap, name, slowed)
    rng = np.random.default_rng(25)
    thrs = threshold_list(0.01)
    bins = pxap.kernel_bins(thrs)
    group = _group(rng, np.float32, (24, 31), pxap.GROUP, False)
    kind = (np.dtype(np.float32), True, False)
    for _ in range(30):
        for hist, (cam, gt, ignore) in zip(pxap._group_histograms(group, kind, bins, 2), group):
            assert np.array_equal(hist, pixel_histograms(cam, gt, ignore, thrs, stacked=True,
                                                         compact=True))
    fast = slow != 'parallel'
    assert chooser.choice is fast
    assert chooser.counts[fast] > 2 * chooser.counts[not fast]


@pytest.mark.parametrize('bad, message', [(np.nan, 'contains NaN'), (1.5, r'in \[0, 1\]'),
                                          (-0.25, r'in \[0, 1\]')])
def test_parallel_group_names_the_first_bad_map(bad, message):
    """Every map of a parallel group is scored; the error is the first bad map's (map 2
    holds the given value, map 5 a NaN)."""
    rng = np.random.default_rng(22)
    group = _group(rng, np.float32, (9, 70), pxap.GROUP, False)
    group[2][0][4, 5] = bad
    group[5][0][1, 1] = np.nan
    kind = (np.dtype(np.float32), True, False)
    with pytest.raises(ValueError, match=message):
        pxap._group_histograms(group, kind, pxap.kernel_bins(threshold_list(0.01)), 2)


@pytest.fixture
def eval_threads_2():
    image_pool.set_eval_threads(2)
    yield
    image_pool.set_eval_threads(None)


def test_scorer_uses_numba_threads_only_on_openmp(monkeypatch, eval_threads_2):
    """On numba's OpenMP layer the scorer takes the batch in the calling thread and scores
    each group on numba's threads; on any other layer (or one thread) it hands groups to
    its own pool. The records are the same either way."""
    import numba
    rng = np.random.default_rng(23)
    samples = [dict(pred_cam=cam, gt_mask=gt)
               for cam, gt, _ in _group(rng, np.float32, (30, 30), 2 * pxap.GROUP + 3, False)]
    records = {}
    for omp in (False, True):
        monkeypatch.setitem(pxap._PARALLEL, 'pid', os.getpid())
        monkeypatch.setitem(pxap._PARALLEL, 'omp', omp)
        scorer = PxAPScorer(cam_curve_interval=0.01)
        many = numba.config.NUMBA_NUM_THREADS > 1
        assert parallel_threads(2) == (2 if omp and many else 1)
        assert scorer.threaded == (not (omp and many))
        scorer.process(None, samples)
        records[omp] = scorer.results
    for a, b in zip(records[False], records[True]):
        assert np.array_equal(a['hist'], b['hist'])
    monkeypatch.setitem(pxap._PARALLEL, 'pid', os.getpid() + 1)  # as in a forked child
    assert parallel_threads(2) == 1 and not pxap._PARALLEL['omp']


def _child(queue, cams, gts):
    queue.put((parallel_threads(2), pixel_histograms_many(
        zip(cams, gts, [None] * len(cams)), threshold_list(0.01), compact=True, threads=2)))


def test_forked_child_scores_without_numba_threads():
    """GNU OpenMP does not survive a fork: a child forked after the parent scored on
    numba's threads scores on one thread (numba would terminate it otherwise) and gets
    the parent's histograms."""
    rng = np.random.default_rng(24)
    cams = [rng.random((20, 20)).astype(np.float32) for _ in range(pxap.GROUP)]
    gts = [cam > 0.6 for cam in cams]
    parent = pixel_histograms_many(zip(cams, gts, [None] * len(cams)), threshold_list(0.01),
                                   compact=True, threads=2)
    context = multiprocessing.get_context('fork')
    queue = context.Queue()
    child = context.Process(target=_child, args=(queue, cams, gts))
    child.start()
    threads, hists = queue.get(timeout=120)
    child.join(60)
    assert child.exitcode == 0 and threads == 1
    assert all(np.array_equal(a, b) for a, b in zip(parent, hists))


_KEEPS_TORCH_THREADS = '''import json
import torch
from wsol_mm.evaluation.functional import parallel_threads
from wsol_mm.evaluation.functional.pxap import _PARALLEL
before = torch.get_num_threads()
threads = parallel_threads(2)  # starts numba's threads
print(json.dumps([before, torch.get_num_threads(), threads, _PARALLEL['omp']]))
'''


def test_starting_numba_threads_keeps_torchs_thread_count():
    """numba's OpenMP layer sets the calling thread's OpenMP count to its own as it starts,
    in the libgomp torch's CPU build loads too: the first evaluation of a training run that
    runs one torch thread (one per rank in tools/dist_train.sh) must leave it at one."""
    env = dict(os.environ, OMP_NUM_THREADS='1', NUMBA_NUM_THREADS='2')
    out = subprocess.run([sys.executable, '-c', _KEEPS_TORCH_THREADS], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after, threads, omp = json.loads(out.stdout.splitlines()[-1])
    assert before == after == 1
    assert threads == (2 if omp else 1)
