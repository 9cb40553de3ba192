"""Compiled per-image score histograms of PxAP (numba, ``cache=True``).

Two passes over the map. The first gives each score the bin of
``np.histogram(s, edges)`` (``edges`` = ``np.arange(0, 1, interval)`` + [1, 2, 3]):
the uniform guess ``int(s * K)`` is off by at most one bin from the float
edges, so two compares against the edges make it exact. When the thresholds
are exactly ``j * delta`` (what ``np.arange`` computes; the caller checks),
the edges are recomputed in registers instead of read from memory, and the
pass vectorises. The second pass counts into four interleaved sub-histograms
per label, so neighbouring pixels of equal score do not wait on each other's
increment. Hot loops index with unsigned integers (no negative-index checks).
"""
import numpy as np
from numba import njit

_U = np.uint64


@njit(cache=True)
def _bin_indices(c, edges, delta, bins):
    """Bin of every score (``bins``, int32); True when a score is NaN or outside [0, 1]."""
    k = len(edges) - 3  # number of thresholds
    kf = np.float64(k)
    bad = False
    if delta > 0.0:  # uniform thresholds j * delta: no loads from ``edges``
        for i in range(c.size):
            s = np.float64(c[i])
            bad |= ((s >= 0.0) & (s <= 1.0)) ^ True
            s = min(max(s, 0.0), 1.0)
            j = min(np.int64(s * kf), k)
            lo = j * delta if j < k else 1.0
            hi = (j + 1) * delta if j + 1 < k else (1.0 if j + 1 == k else 2.0)
            bins[i] = j - np.int64(s < lo) + np.int64(s >= hi)
    else:
        for i in range(c.size):
            s = np.float64(c[i])
            bad |= ((s >= 0.0) & (s <= 1.0)) ^ True
            s = min(max(s, 0.0), 1.0)
            j = min(np.int64(s * kf), k)
            bins[i] = j - np.int64(s < edges[_U(j)]) + np.int64(s >= edges[_U(j + 1)])
    return bad


@njit(cache=True, nogil=True)  # called from the scorers' threads
def score_histograms(cam, gt, ignore, use_ignore, edges, delta, sub, bins, fg, bg):
    """Foreground and background histograms of one map (ignore pixels dropped).

    Args:
        cam: float ``(H, W)`` map. gt: bool ``(H, W)``. ignore: bool ``(H, W)``
        (read when ``use_ignore``). edges: float64 bin edges. delta: the
        threshold step when ``edges[j] == j * delta`` for every threshold,
        else 0. sub: int32 ``(8, len(edges) - 1)`` and bins: int32 ``(H * W,)``
        work buffers. fg, bg: int64 outputs.

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    nb = len(edges) - 1
    c = cam.ravel()
    g = gt.ravel()
    ig = ignore.ravel()
    if _bin_indices(c, edges, delta, bins):
        for i in range(c.size):
            if c[i] != c[i]:
                return 1
        return 2
    sub[:] = 0
    if use_ignore:
        for i in range(c.size):
            lab = _U(g[i])
            if ig[i] and not lab:
                continue
            sub[_U(i & 3) + _U(4) * lab, _U(bins[i])] += 1
    else:
        for i in range(c.size):
            sub[_U(i & 3) + _U(4) * _U(g[i]), _U(bins[i])] += 1
    for j in range(nb):
        bg[j] = sub[0, j] + sub[1, j] + sub[2, j] + sub[3, j]
        fg[j] = sub[4, j] + sub[5, j] + sub[6, j] + sub[7, j]
    return 0
