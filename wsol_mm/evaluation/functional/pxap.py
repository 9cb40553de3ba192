"""Pixel-level metrics for masks (OpenImages): PxAP and pIoU from pooled histograms."""
import os
import sys
import threading
import time
from typing import Iterable, List, Optional, Tuple, Union

import numpy as np

from . import _warmup_state
from .box_ops import check_scoremap
from .thread_mode_chooser import ThreadModeChooser

try:  # numba is optional: the numpy path below gives the same counts
    from ._histogram_kernels import CHUNK as _CHUNK
    from ._histogram_kernels import MAX_THRESHOLDS as _MAX_THRESHOLDS
    from ._histogram_kernels import STREAMS as _STREAMS
    from ._histogram_kernels import score_histogram_group as _score_histogram_group
    from ._histogram_kernels import score_histogram_group_parallel as _score_group_parallel
    from ._histogram_kernels import score_histograms as _score_histograms
except ImportError:  # pragma: no cover - depends on the environment
    _score_histograms = _score_histogram_group = _score_group_parallel = None
_KERNEL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_BOOL = np.dtype(bool)
_EDGES = {}  # edges and uniform step per threshold list
#: maps per kernel call of :func:`pixel_histograms_many` (the kernel is compiled for tuples
#: of this length; a scorer hands its threads this many samples at a time)
GROUP = 8
_LOCAL = threading.local()  # work buffers of each thread (the scorers score images in threads)
_PARALLEL = dict(pid=None, omp=False)  # whether numba runs parallel kernels on OpenMP here
_PARALLEL_LOCK = threading.Lock()  # one first launch (numba's workqueue aborts on two at once)
#: times both ways of scoring a group when numba's threads could take it (busy cores make
#: OpenMP's barrier wait: see ThreadModeChooser)
GROUP_MODE = ThreadModeChooser()

__all__ = ['GROUP', 'histogram_edges', 'kernel_bins', 'parallel_threads', 'pixel_histograms',
           'pixel_histograms_many', 'pxap_from_histograms', 'piou_from_histograms',
           'pr_curve_from_histograms']


def parallel_threads(threads: int) -> int:
    """How many of numba's threads score each group of maps: ``threads``, at most numba's
    thread count, where numba runs its parallel kernels on GNU OpenMP; else 1.

    OpenMP's threads wait actively for a while after each kernel (``GOMP_SPINCOUNT``), so
    a group's maps are on both cores within microseconds, where a pool thread woke about
    0.13 ms after each call and the scorer's Python held the GIL in between (on a 2-vCPU
    Xeon: PxAP's scorer 1.03-1.07x back to back, 1.78x right after a torch op). numba's other
    layers park their threads between calls (its workqueue: 0.54x), so a scorer hands
    its groups to its own threads there, as it does with 1 and in a process forked after
    the first use (GNU OpenMP does not survive a fork). Where it returns more than one,
    each group still runs the way :data:`GROUP_MODE` has timed faster.
    """
    if threads <= 1 or _score_group_parallel is None:
        return 1
    if _PARALLEL['pid'] != os.getpid():
        with _PARALLEL_LOCK:
            if _PARALLEL['pid'] != os.getpid():
                first = _PARALLEL['pid'] is None
                omp = first and _numba_layer() == 'omp'
                _PARALLEL.update(pid=os.getpid(), omp=omp)
    if not _PARALLEL['omp']:
        return 1
    import numba
    return min(threads, numba.config.NUMBA_NUM_THREADS)


def _numba_layer() -> str:
    """The layer numba runs parallel kernels on (its threads start with the first one), or
    '' when none loads (e.g. ``NUMBA_THREADING_LAYER=tbb`` without TBB)."""
    import numba
    if _warmup_state.PROCESSES:  # a warm-up is compiling the kernels: wait for it
        _warmup_state.wait_for_warmup()
    edges, delta = _cached_bins(np.arange(0.0, 1.0, 0.01))
    cams, masks = (np.zeros((1, 1), np.float32), ) * GROUP, (np.zeros((1, 1), bool), ) * GROUP
    # numba's OpenMP layer sets the calling thread's OpenMP count to its own (every core) as
    # it starts, in the libgomp torch's CPU build shares: a training process's torch would
    # leave its OMP_NUM_THREADS (one per rank in dist_train.sh) at the first evaluation
    torch = sys.modules.get('torch')
    torch_threads = torch.get_num_threads() if torch is not None else None
    try:  # no map: only starts the threads
        _score_group_parallel(cams, masks, masks, False, 0, edges, delta,
                              np.empty((GROUP, 2, len(edges) - 1), np.uint16))
    except ValueError:  # numba: 'No threading layer could be loaded'
        return ''
    finally:
        if torch_threads is not None and torch.get_num_threads() != torch_threads:
            torch.set_num_threads(torch_threads)
    return numba.threading_layer()


def histogram_edges(thresholds: np.ndarray) -> np.ndarray:
    """Bin edges of wsolevaluation's MaskEvaluator: the thresholds then 1, 2, 3."""
    return np.concatenate([np.asarray(thresholds, np.float64), [1.0, 2.0, 3.0]])


def kernel_bins(thresholds: np.ndarray) -> tuple:
    """Edges and the uniform step (0 if the thresholds are not exactly ``j * step``).

    Computed once per threshold list by a caller that scores many maps, then passed to
    :func:`pixel_histograms` as ``bins`` (saves hashing the list on every call).
    """
    edges = histogram_edges(thresholds)
    k = len(thresholds)
    delta = float(thresholds[1] - thresholds[0]) if k > 1 else 0.0
    if not (delta > 0 and thresholds[0] == 0 and thresholds[-1] < 1
            and np.array_equal(thresholds, np.arange(k) * delta)):
        delta = 0.0  # the kernel reads the edges
    return edges, delta


def _buffers(num_bins: int, size: int) -> tuple:
    """This thread's sub-histograms (a row per stream: background bins, foreground bins,
    ignored) and ``size`` uint16 codes (two blocks, or one per pixel when the kernel reads
    the edges), kept for the next map of the same size and bins (a scorer's maps mostly
    are)."""
    held = getattr(_LOCAL, 'held', None)
    if held is None or held[0] != num_bins or held[1] != size:
        sub = held[2] if held is not None and held[0] == num_bins else np.empty(
            (_STREAMS, 2 * num_bins + 1), np.uint16)
        codes = held[3] if held is not None and held[3].size >= size else np.empty(
            size, np.uint16)
        held = _LOCAL.held = (num_bins, size, sub, codes, codes[:size])
    return held[2], held[4]


def _cached_bins(thresholds: np.ndarray) -> tuple:
    """:func:`kernel_bins` of a threshold list, kept for the next call with the same list."""
    key = np.asarray(thresholds, np.float64).tobytes()
    bins = _EDGES.get(key)
    if bins is None:
        if len(_EDGES) > 16:
            _EDGES.clear()
        bins = _EDGES[key] = kernel_bins(np.asarray(thresholds, np.float64))
    return bins


def _map_and_mask(cam: np.ndarray, gt_mask: np.ndarray,
                  ignore_mask: Optional[np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The map as numpy (a tensor moved to the CPU) and its bool foreground, their shapes
    (and the ignore mask's) checked."""
    cam = cam.detach().cpu().numpy() if hasattr(cam, 'detach') else np.asarray(cam)
    gt = np.asarray(gt_mask, dtype=bool)
    if gt.shape != cam.shape:
        raise ValueError(f'gt_mask shape {gt.shape} differs from the map shape {cam.shape}')
    if ignore_mask is not None and np.shape(ignore_mask) != cam.shape:
        raise ValueError(f'ignore_mask shape {np.shape(ignore_mask)} differs from the map '
                         f'shape {cam.shape}')
    return cam, gt


def _bin_index(scores: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``searchsorted(edges, s, 'right') - 1`` in O(n) for the near-uniform edges.

    A uniform guess is off by at most one bin from the np.arange float edges,
    so two vectorised corrections give exactly numpy.histogram's bins.
    """
    k = len(edges) - 3  # number of thresholds
    idx = np.minimum((scores * k).astype(np.int64), k)  # scores in [0, 1]
    idx -= scores < edges[idx]
    idx += scores >= edges[idx + 1]
    return idx


def pixel_histograms(cam: np.ndarray, gt_mask: np.ndarray, ignore_mask: np.ndarray,
                     thresholds: np.ndarray, bins: Optional[tuple] = None,
                     stacked: bool = False,
                     compact: bool = False) -> Union[Tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Foreground and background score histograms of one image (ignore pixels dropped).

    Args:
        cam (np.ndarray): float map in [0, 1].
        gt_mask (np.ndarray): bool foreground (union of instances).
        ignore_mask (np.ndarray, optional): bool ignore region; foreground wins.
        thresholds (np.ndarray): CAM thresholds (``np.arange(0, 1, interval)``).
        bins (tuple, optional): ``kernel_bins(thresholds)``, computed once by the caller.
        stacked (bool): return one ``(2, len(thresholds) + 2)`` array, the foreground
            row first. Defaults to False.
        compact (bool): uint16 counts when the map has fewer than 65536 pixels (no count
            can exceed 65535), written by the kernel directly: what a scorer keeps per
            image. Defaults to False (int64).

    Returns:
        tuple[np.ndarray, np.ndarray]: histograms with ``len(thresholds) + 2`` bins,
        identical to ``np.histogram(s, thresholds + [1, 2, 3])`` (or their stack).
    """
    cam, gt = _map_and_mask(cam, gt_mask, ignore_mask)
    if (_score_histograms is not None and cam.ndim == 2 and cam.dtype in _KERNEL_DTYPES
            and len(thresholds) <= _MAX_THRESHOLDS):
        cam, gt = np.ascontiguousarray(cam), np.ascontiguousarray(gt)
        if _warmup_state.PROCESSES:  # a warm-up is compiling the kernels: wait for it
            _warmup_state.wait_for_warmup()
        edges, delta = _cached_bins(thresholds) if bins is None else bins
        # uniform thresholds: codes of two blocks at a time; else one per pixel
        sub, codes = _buffers(len(edges) - 1, 2 * _CHUNK if delta > 0 else cam.size)
        hist = np.empty((2, len(edges) - 1),
                        np.uint16 if compact and cam.size < 65536 else np.int64)
        if ignore_mask is None:
            bad = _score_histograms(cam, gt, gt, False, edges, delta, sub, codes, hist)
        else:
            bad = _score_histograms(cam, gt, np.ascontiguousarray(ignore_mask, dtype=bool),
                                    True, edges, delta, sub, codes, hist)
        if bad:
            check_scoremap(cam)  # raises the precise message
        return hist if stacked else (hist[0], hist[1])
    cam = check_scoremap(cam)
    keep = ~np.asarray(ignore_mask, dtype=bool) | gt if ignore_mask is not None else None
    edges = histogram_edges(thresholds)
    scores, labels = cam.ravel(), gt.ravel()
    if keep is not None:
        scores, labels = scores[keep.ravel()], labels[keep.ravel()]
    nb = len(edges) - 1
    idx = _bin_index(scores, edges) + nb * (labels ^ True)  # the foreground row first
    hist = np.bincount(idx, minlength=2 * nb).reshape(2, nb)
    hist = hist.astype(np.uint16 if compact and cam.size < 65536 else np.int64)
    return hist if stacked else (hist[0], hist[1])


def pixel_histograms_many(maps: Iterable[Tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]],
                          thresholds: np.ndarray, bins: Optional[tuple] = None,
                          compact: bool = False, threads: int = 1) -> List[np.ndarray]:
    """``pixel_histograms(cam, gt, ignore, ..., stacked=True)`` of each map, in order.

    What a scorer runs on its samples: consecutive maps of the same kind (float32 or
    float64, aligned writeable C arrays, with or without an ignore mask) are scored
    ``GROUP`` at a time by one kernel call, which releases the GIL once for the group,
    on ``parallel_threads(threads)`` of numba's threads or on the calling thread, the way
    :data:`GROUP_MODE` has timed faster (a busy core makes numba's threads wait); other
    maps, and thresholds that are not ``j * step``, one at a time. ``maps`` is read as
    the groups fill: a generator that reads each sample's fields lets a scorer's thread
    release the GIL after one group's Python, not the whole chunk's (the other threads
    start scoring meanwhile).

    Args:
        maps (Iterable[tuple]): ``(cam, gt_mask, ignore_mask)`` per map: a float map in
            [0, 1] (a tensor is moved to numpy), its bool foreground, and its bool ignore
            region or None.
        thresholds (np.ndarray): CAM thresholds (``np.arange(0, 1, interval)``).
        bins (tuple, optional): ``kernel_bins(thresholds)``, computed once by the caller.
        compact (bool): uint16 counts for maps under 65536 pixels. Defaults to False.
        threads (int): threads for a group's maps (see :func:`parallel_threads`; the same
            histograms for any count). Defaults to 1.

    Returns:
        list[np.ndarray]: a ``(2, len(thresholds) + 2)`` array per map, the foreground row
        first; a map with NaN or values outside [0, 1] raises as :func:`pixel_histograms`.
    """
    kernel = _score_histogram_group is not None and len(thresholds) <= _MAX_THRESHOLDS
    bins = _cached_bins(thresholds) if kernel and bins is None else bins
    if not kernel or bins[1] <= 0:  # no numba, or thresholds that are not j * step
        return [pixel_histograms(cam, gt, ignore, thresholds, bins, True, compact)
                for cam, gt, ignore in maps]
    threads = parallel_threads(threads)
    if threads > 1:
        import numba
        numba.set_num_threads(threads)  # the calling thread's count
    out: List[np.ndarray] = []
    group: list = []
    kind = None
    for cam, gt, ignore in maps:
        if not (type(cam) is np.ndarray and type(gt) is np.ndarray and gt.dtype == _BOOL
                and cam.shape == gt.shape
                and (ignore is None or (type(ignore) is np.ndarray and ignore.dtype == _BOOL
                                        and ignore.shape == cam.shape))):
            cam, gt = _map_and_mask(cam, gt, ignore)  # converts (a tensor, a 0/1 mask)
            ignore = None if ignore is None else np.ascontiguousarray(ignore, dtype=bool)
        if not (cam.ndim == 2 and cam.dtype in _KERNEL_DTYPES and cam.flags.carray
                and gt.flags.carray and (ignore is None or ignore.flags.carray)):
            # e.g. a read-only map: its own compiled version, not a new tuple type
            out += _group_histograms(group, kind, bins, threads)
            group = []
            out.append(pixel_histograms(cam, gt, ignore, thresholds, bins, True, compact))
            continue
        this = (cam.dtype, compact and cam.size < 65536, ignore is not None)
        if this != kind or len(group) == GROUP:
            out += _group_histograms(group, kind, bins, threads)
            group, kind = [], this
        group.append((cam, gt, ignore))
    return out + _group_histograms(group, kind, bins, threads)


def _group_histograms(group: list, kind: tuple, bins: tuple, threads: int,
                      parallel: Optional[bool] = None) -> List[np.ndarray]:
    """The stacked histograms of up to ``GROUP`` maps of one kind, one kernel call: on
    ``threads`` of numba's threads or on the calling thread, as :data:`GROUP_MODE` picks
    from its timings when ``threads > 1`` (``parallel``: that choice made by the caller,
    not timed)."""
    if not group:
        return []
    if _warmup_state.PROCESSES:  # a warm-up is compiling the kernels: wait for it
        _warmup_state.wait_for_warmup()
    edges, delta = bins
    nb = len(edges) - 1
    hists = np.empty((GROUP, 2, nb), np.uint16 if kind[1] else np.int64)
    n = len(group)
    cams, gts, ignores = zip(*(group + group[-1:] * (GROUP - n)))  # padded
    ignores = ignores if kind[2] else gts
    timed = parallel is None and threads > 1 and n > 1
    if timed:
        parallel = GROUP_MODE.parallel()
    start = time.perf_counter()
    if parallel and threads > 1 and n > 1:
        done, _code = _score_group_parallel(cams, gts, ignores, kind[2], n, edges, delta, hists)
    else:
        sub, codes = _buffers(nb, 2 * _CHUNK)
        done, _code = _score_histogram_group(cams, gts, ignores, kind[2], n, edges, delta, sub,
                                             codes, hists)
    if timed and done == n:
        GROUP_MODE.record(parallel, time.perf_counter() - start, sum(c.size for c in cams[:n]))
    if done < n:
        check_scoremap(cams[done])  # raises the precise message
    return list(hists[:n])


def _tp_fp(fg_hist: np.ndarray, bg_hist: np.ndarray):
    tp = np.cumsum(np.asarray(fg_hist, np.float64)[::-1])
    fp = np.cumsum(np.asarray(bg_hist, np.float64)[::-1])
    num_fg = tp[-1] if len(tp) else 0.0
    if num_fg <= 0:
        raise RuntimeError('No positive ground truth in the eval set.')
    if not (tp + fp > 0).any():
        raise RuntimeError('No positive prediction in the eval set.')
    return tp, fp, num_fg


def pxap_from_histograms(fg_hist: np.ndarray, bg_hist: np.ndarray) -> float:
    """PxAP (percent) as wsolevaluation: right-endpoint sum over the step PR curve.

    Args:
        fg_hist (np.ndarray): pooled foreground histogram.
        bg_hist (np.ndarray): pooled background histogram.

    Returns:
        float: ``100 * sum_i P_i (R_i - R_{i-1})`` over thresholds with predictions.
    """
    tp, fp, num_fg = _tp_fp(fg_hist, bg_hist)
    valid = (tp + fp) != 0
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = tp / (tp + fp)
    recall = tp / num_fg
    return float(100.0 * (precision[1:] * np.diff(recall))[valid[1:]].sum())


def piou_from_histograms(fg_hist: np.ndarray, bg_hist: np.ndarray) -> float:
    """pIoU (percent): the best pooled pixel IoU ``TP / (TP + FP + FN)`` over thresholds.

    This is the TPAMI paper's PxIoU: the pixel IoU of the split at the optimal
    threshold (the mask analogue of MaxBoxAcc).
    """
    tp, fp, num_fg = _tp_fp(fg_hist, bg_hist)
    return float(100.0 * (tp / (fp + num_fg)).max())


def pr_curve_from_histograms(fg_hist: np.ndarray,
                             bg_hist: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Pooled pixel precision and recall, one point per histogram edge from high to low.

    Precision is 0 where nothing is predicted (no pixel above the edge).
    """
    tp, fp, num_fg = _tp_fp(fg_hist, bg_hist)
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
    return precision, tp / num_fg
