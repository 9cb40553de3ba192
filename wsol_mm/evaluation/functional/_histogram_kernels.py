"""Compiled per-image score histograms of PxAP (numba, ``cache=True``).

One pass over the map: each score gets the bin of ``np.histogram(s, edges)``
(``edges`` = ``np.arange(0, 1, interval)`` + [1, 2, 3]); the uniform guess
``int(s * K)`` is off by at most one bin from the float edges, so two compares
against the edges make it exact. Counts go to four interleaved sub-histograms
per label, so neighbouring pixels of equal score do not wait on each other's
increment.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def score_histograms(cam, gt, ignore, use_ignore, edges, sub, fg, bg):
    """Foreground and background histograms of one map (ignore pixels dropped).

    Args:
        cam: float ``(H, W)`` map. gt: bool ``(H, W)``. ignore: bool ``(H, W)``
        (read when ``use_ignore``). edges: float64 bin edges. sub: int32
        ``(8, len(edges) - 1)`` work buffer. fg, bg: int64 outputs.

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    k = len(edges) - 3  # number of thresholds
    nb = len(edges) - 1
    c = cam.ravel()
    g = gt.ravel()
    ig = ignore.ravel()
    sub[:] = 0
    for i in range(c.size):
        s = np.float64(c[i])
        if not (s >= 0.0 and s <= 1.0):
            return 1 if s != s else 2
        lab = g[i]
        if use_ignore and ig[i] and not lab:
            continue
        j = min(int(s * k), k)
        if s < edges[j]:
            j -= 1
        elif s >= edges[j + 1]:
            j += 1
        sub[(i & 3) + 4 * lab, j] += 1
    for j in range(nb):
        bg[j] = sub[0, j] + sub[1, j] + sub[2, j] + sub[3, j]
        fg[j] = sub[4, j] + sub[5, j] + sub[6, j] + sub[7, j]
    return 0
