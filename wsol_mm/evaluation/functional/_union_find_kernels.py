"""Union-find primitives shared by the cut-off scan kernels (numba, ``cache=True``).

Component data live in one int32 record per root (one 64-byte row per padded
pixel); pixels live in a frame padded by one pixel on each side, so
neighbour offsets need no bounds checks.
"""
import numpy as np
from numba import njit

_NCUT = 256  # index T = cut-off; T = 255 is the empty mask
# columns of the per-root int32 record (one row per padded pixel, 16 x 4 B = one cache line)
_X0, _Y0, _X1, _Y1, _AREA2, _EUL4, _FIRST, _SIZE, _POS, _DIRTY, _GT, _ESC, _PERIM = range(13)
_REC = 16
# status per cut-off returned to the caller
OK, OPENCV, HOLES = 0, 1, 2  # HOLES: V2 needs the hole pass here


@njit(cache=True)
def _find(parent, i):
    while True:
        pi = parent[i]
        if pi == i:
            return i
        ppi = parent[pi]
        if ppi == pi:  # one hop (the common case): no write
            return pi
        parent[i] = ppi  # path halving keeps trees flat
        i = ppi


@njit(cache=True)
def _best_iou(x0, y0, x1, y1, gts):
    """Best inclusive (+1) IoU of one box against all GT boxes, lowest GT index on ties."""
    best = -1.0
    best_j = 0
    area_a = (x1 - x0 + 1.0) * (y1 - y0 + 1.0)
    for j in range(gts.shape[0]):
        gx0, gy0, gx1, gy1 = gts[j, 0], gts[j, 1], gts[j, 2], gts[j, 3]
        iw = max(0.0, min(x1, gx1) - max(x0, gx0) + 1.0)
        ih = max(0.0, min(y1, gy1) - max(y0, gy0) + 1.0)
        inter = iw * ih
        union = area_a + (gx1 - gx0 + 1.0) * (gy1 - gy0 + 1.0) - inter
        iou = inter / union if union > 0 else 0.0
        if iou > best:
            best = iou
            best_j = j
    return best, best_j


@njit(cache=True)
def _sort_pixels(u, order, starts):
    """Counting sort by value: ``order[2k]`` = padded index, ``order[2k + 1]`` = y << 16 | x.

    Level offsets (in pixels) go to ``starts``; coordinates ride along so the
    passes need no division.
    """
    h, w = u.shape
    starts[:] = 0
    for y in range(h):
        for x in range(w):
            starts[u[y, x] + 1] += 1
    for v in range(256):
        starts[v + 1] += starts[v]
    fill = starts[:256].copy()
    for y in range(h):
        row = (y + 1) * (w + 2) + 1
        for x in range(w):
            v = u[y, x]
            k = 2 * fill[v]
            order[k] = row + x
            order[k + 1] = (y << 16) | x
            fill[v] += 1


@njit(cache=True)
def _new_root(p, x, y, rec, live, n_live):
    rec[p, _X0] = x
    rec[p, _X1] = x
    rec[p, _Y0] = y
    rec[p, _Y1] = y
    rec[p, _SIZE] = 1
    rec[p, _DIRTY] = 1
    rec[p, _POS] = n_live
    live[n_live] = p


@njit(cache=True)
def _union(ra, rb, parent, rec, live, n_live):
    """Merge roots (the smaller under the larger); return (new root, n_live)."""
    if rec[ra, _SIZE] < rec[rb, _SIZE]:
        ra, rb = rb, ra
    parent[rb] = ra
    rec[ra, _SIZE] += rec[rb, _SIZE]
    rec[ra, _X0] = min(rec[ra, _X0], rec[rb, _X0])
    rec[ra, _Y0] = min(rec[ra, _Y0], rec[rb, _Y0])
    rec[ra, _X1] = max(rec[ra, _X1], rec[rb, _X1])
    rec[ra, _Y1] = max(rec[ra, _Y1], rec[rb, _Y1])
    rec[ra, _AREA2] += rec[rb, _AREA2]
    rec[ra, _EUL4] += rec[rb, _EUL4]
    rec[ra, _PERIM] += rec[rb, _PERIM]
    rec[ra, _FIRST] = min(rec[ra, _FIRST], rec[rb, _FIRST])
    rec[ra, _DIRTY] = 1
    pos_b = rec[rb, _POS]
    if pos_b >= 0:  # swap-remove rb from the live list
        last = live[n_live - 1]
        live[pos_b] = last
        rec[last, _POS] = pos_b
        rec[rb, _POS] = -1
        n_live -= 1
    return ra, n_live


@njit(cache=True)
def quantize_map(cam, out):
    """``out = (cam * 255).astype(np.uint8)`` in float64, after checking every value.

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    h, w = cam.shape
    for y in range(h):
        for x in range(w):
            s = np.float64(cam[y, x])
            if s != s:
                return 1
            if s < 0.0 or s > 1.0:
                return 2
            out[y, x] = np.uint8(s * 255.0)  # truncation, as numpy's astype
    return 0
