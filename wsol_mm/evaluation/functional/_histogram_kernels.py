"""Compiled per-image score histograms of PxAP (numba, ``cache=True``).

Two passes over the map. The first gives each pixel a code, its score's bin of
``np.histogram(s, edges)`` (``edges`` = ``np.arange(0, 1, interval)`` + [1, 2, 3])
plus ``nb`` for a foreground pixel (``2 nb``: an ignored pixel, dropped). The
uniform guess ``int(s * K)`` is off by at most one bin from the float edges, so
two compares against the edges make it exact. When the thresholds are exactly
``j * delta`` (what ``np.arange`` computes; the caller checks), the edges are
recomputed in registers instead of read from memory, and the pass vectorises.

The second pass counts the codes of eight streams, eight distant stretches of
the map, each into its own sub-histogram. Neighbouring pixels of a smooth map
mostly share a bin, so counted in raster order each increment waits for the
previous one to the same counter. On an Intel Xeon both passes together are
1.2-1.45x faster than the earlier bins-then-raster-order counting (into four
sub-histograms by ``i % 4``). Hot loops index with unsigned integers (no
negative-index checks).
"""
import numpy as np
from numba import njit

_U = np.uint64
#: number of streams, rows of the sub-histogram buffer
STREAMS = 8


@njit(cache=True)
def _codes(c, g, ig, use_ignore, edges, delta, codes):
    """Code of every pixel (``codes``, int32); True when a score is NaN or outside [0, 1]."""
    k = len(edges) - 3  # number of thresholds
    nb = np.int32(k + 2)
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
            b = np.int32(j - np.int64(s < lo) + np.int64(s >= hi))
            lab = np.int32(g[i])
            codes[i] = 2 * nb if use_ignore & ig[i] & (lab == 0) else b + nb * lab
    else:
        for i in range(c.size):
            s = np.float64(c[i])
            bad |= ((s >= 0.0) & (s <= 1.0)) ^ True
            s = min(max(s, 0.0), 1.0)
            j = min(np.int64(s * kf), k)
            b = np.int32(j - np.int64(s < edges[_U(j)]) + np.int64(s >= edges[_U(j + 1)]))
            lab = np.int32(g[i])
            codes[i] = 2 * nb if use_ignore & ig[i] & (lab == 0) else b + nb * lab
    return bad


@njit(cache=True, nogil=True)  # called from the scorers' threads
def score_histograms(cam, gt, ignore, use_ignore, edges, delta, sub, codes, fg, bg):
    """Foreground and background histograms of one map (ignore pixels dropped).

    Args:
        cam: float ``(H, W)`` map. gt: bool ``(H, W)``. ignore: bool ``(H, W)``
        (read when ``use_ignore``). edges: float64 bin edges. delta: the
        threshold step when ``edges[j] == j * delta`` for every threshold,
        else 0. sub: int32 ``(STREAMS, 2 * (len(edges) - 1) + 1)`` and codes:
        int32 ``(H * W,)`` work buffers. fg, bg: int64 outputs.

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    nb = len(edges) - 1
    c = cam.ravel()
    if _codes(c, gt.ravel(), ignore.ravel(), use_ignore, edges, delta, codes):
        for i in range(c.size):
            if c[i] != c[i]:
                return 1
        return 2
    sub[:] = 0
    n = c.size
    stretch = n // STREAMS
    for i in range(stretch):
        for q in range(STREAMS):
            sub[_U(q), _U(codes[_U(q * stretch + i)])] += 1
    for i in range(STREAMS * stretch, n):
        sub[0, _U(codes[_U(i)])] += 1
    for j in range(nb):
        b, f = 0, 0
        for q in range(STREAMS):
            b += sub[q, j]
            f += sub[q, nb + j]
        bg[j], fg[j] = b, f
    return 0
