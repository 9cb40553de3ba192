"""Compile the evaluation kernels before the first evaluation needs them.

numba compiles each kernel on first use (tens of seconds on 2 cores) and keeps
it in its cache (``cache=True``: ``__pycache__`` next to the sources, or
numba's user cache when that is read-only), so only the first evaluation on a
machine pays. The metrics therefore start, once per process and only while the
cache is cold, a separate process that compiles every kernel for float32 and
float64 maps (:func:`start_kernel_warmup`): training goes on meanwhile and the
first validation loads the compiled code. To compile ahead of time, e.g. after
installing::

    python -m wsol_mm.evaluation.functional.kernel_warmup
"""
import os
import os.path as osp
import pickle
import subprocess
import sys
from typing import Optional

import numpy as np

from . import _warmup_state
from .box_ops import quantize_cam
from .cutoff_scan import HAS_NUMBA, scan_thresholds, threshold_list
from .pxap import _group_histograms, kernel_bins, pixel_histograms, pixel_histograms_many

__all__ = ['warm_up_kernels', 'kernels_cached', 'start_kernel_warmup']

_DTYPES = (np.float32, np.float64)
_DONE = []  # True once a warm-up was started or the kernels were found cached


def warm_up_kernels() -> None:
    """Run every compiled path once on a tiny map of each dtype (compiles or loads them)."""
    yy, xx = np.mgrid[:12, :12]
    ring = np.abs(np.hypot(yy - 6, xx - 6) - 3.5) < 1.2  # a ring: V2 visits its hole
    gts = np.array([[2., 2., 9., 9.]])
    for dtype in _DTYPES:
        cam = np.where(ring, 0.9, 0.1).astype(dtype)
        for multi, floors in ((False, (0.5, )), (True, (0.3, 0.5, 0.7)), (True, None)):
            scan_thresholds(cam, gts, multi, thresholds=threshold_list(0.01),
                            iou_floors=floors)
        scan_thresholds(cam, gts, False, thresholds=threshold_list(0.01), scale=255)
        scan_thresholds(cam, gts, False, thresholds=[0.1], clip=False, empty_box=(0, 0, 1, 1))
        for ignore, compact in ((None, True), (~ring, False)):  # uint16 and int64 counts
            pixel_histograms(cam, ring, ignore, threshold_list(0.001), compact=compact)
            pixel_histograms_many([(cam, ring, ignore)], threshold_list(0.001),
                                  compact=compact)  # a scorer's groups of maps
        quantize_cam(cam)
    # A scorer's groups on numba's threads (pxap.parallel_threads), compiled whatever layer
    # runs them: float32 maps under 65536 pixels only (9 s a version on 2 cores); other
    # kinds compile on first use.
    cam = np.where(ring, 0.9, 0.1).astype(np.float32)
    _group_histograms([(cam, ring, None)] * 2, (cam.dtype, True, False),
                      kernel_bins(threshold_list(0.001)), threads=2, parallel=True)


def kernels_cached() -> bool:
    """Whether numba's cache holds the float32 and float64 versions of the main kernels.

    Reads numba's cache index (not a public API: any surprise counts as not cached).
    """
    if not HAS_NUMBA:
        return True
    from ._cutoff_scan_kernels import scan_map
    from ._histogram_kernels import (
        score_histogram_group,
        score_histogram_group_parallel,
        score_histograms,
    )
    try:
        # versions: one per map dtype; the histogram kernels' int64 and uint16 counts
        # each; the parallel group kernel's float32 / uint16 version alone
        return all(len(kernel._cache._cache_file._load_index()) >= versions
                   for kernel, versions in ((scan_map, 2), (score_histograms, 4),
                                            (score_histogram_group, 4),
                                            (score_histogram_group_parallel, 1)))
    except (AttributeError, OSError, EOFError, ValueError, pickle.UnpicklingError):
        return False


def start_kernel_warmup() -> Optional[subprocess.Popen]:
    """Compile the kernels in a separate process, once per process, if not cached yet.

    Only the first local rank starts it (``LOCAL_RANK`` unset or 0); its output is
    discarded. The first evaluation of this process waits for it rather than compiling the
    same kernels at the same time.

    Returns:
        subprocess.Popen or None: the process, or None when nothing was started.
    """
    if _DONE or os.environ.get('LOCAL_RANK', '0') != '0':
        return None
    _DONE.append(True)
    if kernels_cached():
        return None
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    process = subprocess.Popen(
        [sys.executable, '-m', 'wsol_mm.evaluation.functional.kernel_warmup'], env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    _warmup_state.PROCESSES.append(process)
    return process


if __name__ == '__main__':
    warm_up_kernels()
