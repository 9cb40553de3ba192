"""Compiled union-find kernels behind :mod:`cutoff_scan` (numba, ``cache=True``).

For a uint8 map ``u`` every binary mask ``u > T`` (T = 0..254) is visited in
one pass. Foreground (8-connected, as OpenCV's outer contours) grows as T
falls, so pixels are added in decreasing value order; holes (4-connected
background components that do not reach the image border, as OpenCV's hole
contours) grow as T rises, so a second pass adds pixels in increasing order.
Each component keeps its bounding box; ``2 * contourArea`` of a hole-free
component equals ``2 * #full 2x2 windows + #windows with 3 pixels`` (the
polygon through the boundary pixel centres), which is kept per component too.

Pixels live in a frame padded by one pixel on each side, so neighbour offsets
need no bounds checks; padding is never foreground and is the "outside"
component of the hole pass. ``ws`` is a reusable ``(11, (H+2)*(W+2))`` int32
workspace (fresh multi-MB arrays per map cost more in page faults than the scan).
"""
import numpy as np
from numba import njit

_NCUT = 256  # index T = cut-off; T = 255 is never used by thresholds < 1


@njit(cache=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving keeps trees flat
        i = parent[i]
    return i


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
def _padded_order(u):
    """Padded pixel indices sorted by value (counting sort) and level start offsets."""
    h, w = u.shape
    counts = np.zeros(257, np.int64)
    for y in range(h):
        for x in range(w):
            counts[u[y, x] + 1] += 1
    starts = np.cumsum(counts)
    order = np.empty(h * w, np.int32)
    fill = starts[:256].copy()
    for y in range(h):
        for x in range(w):
            v = u[y, x]
            order[fill[v]] = (y + 1) * (w + 2) + x + 1
            fill[v] += 1
    return order, starts


_POPCOUNT = np.array([bin(i).count('1') for i in range(16)], np.int64)
# Euler-number contribution of a 2x2 window pattern (x4): Q1 -> 1, Q3 -> -1, diagonal -> -2
_EULER = np.array([{1: 1, 3: -1}.get(bin(i).count('1'), 0) - 2 * (i in (6, 9))
                   for i in range(16)], np.int64)

# rows of the int32 workspace
_PARENT, _SIZE, _X0, _Y0, _X1, _Y1, _AREA2, _FIRST, _GT, _LIVE, _POS = range(11)


@njit(cache=True)
def _activate(p, w2, ws, dirty, n_live):
    """Make padded pixel ``p`` a one-pixel component appended to the live list."""
    y, x = p // w2 - 1, p % w2 - 1
    ws[_PARENT, p] = p
    ws[_SIZE, p] = 1
    ws[_X0, p] = x
    ws[_X1, p] = x
    ws[_Y0, p] = y
    ws[_Y1, p] = y
    dirty[p] = True
    ws[_LIVE, n_live] = p
    ws[_POS, p] = n_live


@njit(cache=True)
def _attach(p, r, w2, ws, dirty):
    """Add padded pixel ``p`` to the component rooted at ``r``."""
    y, x = p // w2 - 1, p % w2 - 1
    ws[_PARENT, p] = r
    ws[_SIZE, r] += 1
    ws[_X0, r] = min(ws[_X0, r], x)
    ws[_X1, r] = max(ws[_X1, r], x)
    ws[_Y0, r] = min(ws[_Y0, r], y)
    ws[_Y1, r] = max(ws[_Y1, r], y)
    ws[_FIRST, r] = min(ws[_FIRST, r], p)
    dirty[r] = True


@njit(cache=True)
def _merge(ra, rb, ws, dirty, n_live):
    """Merge root ``rb`` into root ``ra``; drop ``rb`` from the live list; return n_live."""
    # 2-D indexing on purpose: row views per call would cost reference counting
    ws[_PARENT, rb] = ra
    ws[_SIZE, ra] += ws[_SIZE, rb]
    ws[_X0, ra] = min(ws[_X0, ra], ws[_X0, rb])
    ws[_Y0, ra] = min(ws[_Y0, ra], ws[_Y0, rb])
    ws[_X1, ra] = max(ws[_X1, ra], ws[_X1, rb])
    ws[_Y1, ra] = max(ws[_Y1, ra], ws[_Y1, rb])
    ws[_AREA2, ra] += ws[_AREA2, rb]  # 2 x area (foreground pass only)
    ws[_FIRST, ra] = min(ws[_FIRST, ra], ws[_FIRST, rb])
    dirty[ra] = True
    pos_b = ws[_POS, rb]
    if pos_b >= 0:  # swap-remove
        last = ws[_LIVE, n_live - 1]
        ws[_LIVE, pos_b] = last
        ws[_POS, last] = pos_b
        ws[_POS, rb] = -1
        n_live -= 1
    return n_live


@njit(cache=True)
def foreground_scan(u, gts, ws, iou, dirty, wcnt):
    """Per cut-off T: best IoU of all 8-connected components and the v1 candidate.

    Returns a (7, 256) float array indexed by T, rows: best IoU of all
    component boxes and its GT index; IoU and GT index of the component with
    the largest polygon area (ties -> the latest first pixel in raster order,
    i.e. the first in OpenCV's order); that component's 2 x area lower bound;
    2 x the largest bbox-area upper bound among the other components; the
    number of holes (components minus the Euler number). Row 0 is -1 where
    the mask is empty.
    """
    h, w = u.shape
    w2 = w + 2
    order, starts = _padded_order(u)
    parent, size, bx0, by0, bx1, by1 = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
    area2, first, igt, live = ws[6], ws[7], ws[8], ws[9]
    parent[:] = -1
    area2[:] = 0
    wcnt[:] = 0
    # the 8 neighbours in ring order: ring-consecutive neighbours touch each
    # other, so only the first pixel of each run of active neighbours needs a find
    ring = np.array([-w2, -w2 + 1, 1, w2 + 1, w2, w2 - 1, -1, -w2 - 1])
    # (window top-left offset, bit of p in that window): TL=1, TR=2, BL=4, BR=8
    woffs = np.array([-w2 - 1, -w2, -1, 0])
    wbit = np.array([8, 4, 2, 1], np.int8)
    n_live = 0
    euler4 = 0  # 4 x Euler number (8-connectivity) = #Q1 - #Q3 - 2 #QD over 2x2 windows
    out = np.empty((7, _NCUT))  # rows: see the docstring
    cur = np.array([-1.0, 0.0, -1.0, 0.0, -1.0, -1.0, 0.0])  # empty mask until the first level
    out[:, 255] = cur
    for v in range(255, 0, -1):
        lo, hi = starts[v], starts[v + 1]
        if lo == hi:  # no pixel at this value: the mask of T = v - 1 equals that of T = v
            out[:, v - 1] = cur
            continue
        for k in range(lo, hi):
            p = order[k]
            rp = -1
            prev = parent[p + ring[7]] >= 0
            n_act = 0
            for i in range(8):
                q = p + ring[i]
                act = parent[q] >= 0
                if act and (not prev or (i == 7 and n_act == 7)):
                    # a new run of active neighbours (or a full ring: link once)
                    rq = _find(parent, q)
                    if rp < 0:
                        rp = rq
                    elif rq != rp:
                        if size[rp] < size[rq]:
                            rp, rq = rq, rp
                        n_live = _merge(rp, rq, ws, dirty, n_live)
                n_act += act
                prev = act
            if rp < 0:  # isolated: a new component
                _activate(p, w2, ws, dirty, n_live)
                first[p] = p
                n_live += 1
                rp = p
            else:  # joins rp directly (cheaper than activating then merging)
                _attach(p, rp, w2, ws, dirty)
            # windows are indexed by their top-left padded pixel
            for i in range(4):
                wi = p + woffs[i]
                old = wcnt[wi]
                new = old | wbit[i]
                wcnt[wi] = new
                euler4 += _EULER[new] - _EULER[old]
                if _POPCOUNT[new] >= 3:  # 2->3 adds a triangle, 3->4 completes the square
                    area2[rp] += 1
        best, best_g = -1.0, 0
        c_star, c_a2, c_first = -1, -1, -1
        ub1, ub1_r, ub2 = -1, -1, -1
        for li in range(n_live):
            r = live[li]
            if dirty[r]:
                iou[r], igt[r] = _best_iou(bx0[r] * 1.0, by0[r] * 1.0, min(bx1[r] + 1, w - 1) * 1.0,
                                           min(by1[r] + 1, h - 1) * 1.0, gts)
                dirty[r] = False
            if iou[r] > best or (iou[r] == best and igt[r] < best_g):
                best, best_g = iou[r], igt[r]
            if area2[r] > c_a2 or (area2[r] == c_a2 and first[r] > c_first):
                c_star, c_a2, c_first = r, area2[r], first[r]
            ub = 2 * (bx1[r] - bx0[r]) * (by1[r] - by0[r])
            if ub > ub1:
                ub2 = ub1
                ub1, ub1_r = ub, r
            elif ub > ub2:
                ub2 = ub
        cur[0], cur[1], cur[2], cur[3] = best, best_g, iou[c_star], igt[c_star]
        cur[4], cur[5] = c_a2, ub2 if ub1_r == c_star else ub1
        cur[6] = n_live - euler4 // 4  # holes = components - Euler number
        out[:, v - 1] = cur
    return out


@njit(cache=True)
def hole_scan(u, gts, ws, iou, dirty):
    """Per cut-off T: best IoU of hole-contour boxes and hole statistics.

    A hole is a 4-connected component of ``u <= T`` not touching the border;
    its contour's boundingRect is the hole's bbox grown by one pixel.
    Returns a (4, 256) float array indexed by T, rows: best hole-box IoU (-1
    without holes), its GT index, 2 x the largest hole polygon-area upper bound
    and the number of pixels inside holes.
    """
    h, w = u.shape
    w2 = w + 2
    order, starts = _padded_order(u)
    parent, size, bx0, by0, bx1, by1 = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
    igt, pos = ws[8], ws[10]
    live = ws[9]
    parent[:] = -1
    # the padding ring is one pre-built "outside" component rooted at 0 that
    # never loses a union (huge size) and is not in the live list
    for i in range(w2):
        parent[i] = 0
        parent[(h + 1) * w2 + i] = 0
    for y in range(1, h + 1):
        parent[y * w2] = 0
        parent[y * w2 + w + 1] = 0
    size[0] = 1 << 30
    pos[0] = -1
    offs = np.array([-w2, -1, 1, w2])
    n_live = 0
    n_enclosed = 0
    out = np.empty((4, _NCUT))  # rows: iou, gt, 2*area upper bound, enclosed pixels
    cur = np.array([-1.0, 0.0, -1.0, 0.0])  # no background yet: no hole
    for v in range(0, 255):
        lo, hi = starts[v], starts[v + 1]
        if lo == hi:  # the mask of T = v equals that of T = v - 1
            out[:, v] = cur
            continue
        for k in range(lo, hi):
            p = order[k]
            rp = -1
            for o in offs:
                q = p + o
                if parent[q] < 0:
                    continue
                rq = _find(parent, q)
                if rp < 0:
                    rp = rq
                elif rq != rp:
                    if size[rp] < size[rq]:
                        rp, rq = rq, rp
                    if rp == 0:
                        n_enclosed -= size[rq]
                    n_live = _merge(rp, rq, ws, dirty, n_live)
            if rp < 0:
                _activate(p, w2, ws, dirty, n_live)
                n_live += 1
                n_enclosed += 1
            else:
                _attach(p, rp, w2, ws, dirty)
                n_enclosed += rp != 0
        best, best_g, ub_max = -1.0, 0, -1
        for li in range(n_live):
            r = live[li]
            if dirty[r]:
                iou[r], igt[r] = _best_iou((bx0[r] - 1) * 1.0, (by0[r] - 1) * 1.0,
                                           min(bx1[r] + 2, w - 1) * 1.0,
                                           min(by1[r] + 2, h - 1) * 1.0, gts)
                dirty[r] = False
            if iou[r] > best or (iou[r] == best and igt[r] < best_g):
                best, best_g = iou[r], igt[r]
            ub_max = max(ub_max, 2 * (bx1[r] - bx0[r] + 2) * (by1[r] - by0[r] + 2))
        cur[0], cur[1], cur[2], cur[3] = best, best_g, ub_max, n_enclosed
        out[:, v] = cur
    out[:, 255] = cur
    return out
