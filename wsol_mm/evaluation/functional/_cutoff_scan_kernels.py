"""Compiled union-find kernels behind :mod:`cutoff_scan` (numba, ``cache=True``).

For a uint8 map ``u`` every binary mask ``u > T`` (T = 0..254) is visited in
one pass. Foreground (8-connected, as OpenCV's outer contours) grows as T
falls, so pixels are added in decreasing value order; holes (4-connected
background components that do not reach the image border, as OpenCV's hole
contours) grow as T rises, so a second pass adds pixels in increasing order.
Each component keeps its bounding box; ``2 * contourArea`` of a hole-free
component equals ``2 * #full 2x2 windows + #windows with 3 pixels`` (the
polygon through the boundary pixel centres), which is kept per component too.
"""
import numpy as np
from numba import njit

_NCUT = 256  # index T = cut-off; T = 255 is never used by thresholds < 1


@njit(cache=True, inline='always')
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
def _value_order(flat):
    """Counting sort of pixel indices by value; returns (order, level start offsets)."""
    counts = np.zeros(257, np.int64)
    for i in range(flat.shape[0]):
        counts[flat[i] + 1] += 1
    starts = np.cumsum(counts)
    order = np.empty(flat.shape[0], np.int32)
    fill = starts[:256].copy()
    for i in range(flat.shape[0]):
        v = flat[i]
        order[fill[v]] = i
        fill[v] += 1
    return order, starts


@njit(cache=True)
def foreground_scan(u, gts, ws, iou, dirty, wcnt):
    """Per cut-off T: best IoU of all 8-connected components and the v1 candidate.

    Returns a (6, 256) float array indexed by T, rows: best IoU of all
    component boxes and its GT index; IoU and GT index of the component with
    the largest polygon area (ties -> the latest first pixel in raster order,
    i.e. the first in OpenCV's order); that component's 2 x area lower bound;
    2 x the largest bbox-area upper bound among the other components.
    Row 0 is -1 where the mask is empty.
    """
    h, w = u.shape
    order, starts = _value_order(u.ravel())
    parent, size, bx0, by0, bx1, by1 = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
    area2, first, igt, live, pos = ws[6], ws[7], ws[8], ws[9], ws[10]
    parent[:] = -1
    area2[:] = 0
    wcnt[:] = 0
    n_live = 0
    ww = max(w - 1, 1)
    # rows: v2 iou, v2 gt, v1 iou, v1 gt, v1 2*area, 2*upper bound of the others
    out = np.empty((6, _NCUT))
    out[:, 255] = -1.0
    cur = np.array([-1.0, 0.0, -1.0, 0.0, -1.0, -1.0])  # empty mask until the first level
    for v in range(255, 0, -1):
        lo, hi = starts[v], starts[v + 1]
        if lo == hi:  # no pixel at this value: the mask of T = v - 1 equals that of T = v
            out[:, v - 1] = cur
            continue
        for k in range(lo, hi):
            p = order[k]
            y, x = p // w, p % w
            parent[p] = p
            size[p] = 1
            bx0[p] = x
            bx1[p] = x
            by0[p] = y
            by1[p] = y
            first[p] = p
            dirty[p] = True
            live[n_live] = p
            pos[p] = n_live
            n_live += 1
            for dy in range(-1, 2):
                yy = y + dy
                if yy < 0 or yy >= h:
                    continue
                for dx in range(-1, 2):
                    xx = x + dx
                    if (dy == 0 and dx == 0) or xx < 0 or xx >= w:
                        continue
                    q = yy * w + xx
                    if parent[q] < 0:
                        continue
                    ra = _find(parent, p)
                    rb = _find(parent, q)
                    if ra == rb:
                        continue
                    if size[ra] < size[rb]:
                        ra, rb = rb, ra
                    parent[rb] = ra
                    size[ra] += size[rb]
                    bx0[ra] = min(bx0[ra], bx0[rb])
                    by0[ra] = min(by0[ra], by0[rb])
                    bx1[ra] = max(bx1[ra], bx1[rb])
                    by1[ra] = max(by1[ra], by1[rb])
                    area2[ra] += area2[rb]
                    first[ra] = min(first[ra], first[rb])
                    dirty[ra] = True
                    last = live[n_live - 1]  # swap-remove rb from the live list
                    live[pos[rb]] = last
                    pos[last] = pos[rb]
                    pos[rb] = -1
                    n_live -= 1
            r = _find(parent, p)
            for wy in range(y - 1, y + 1):
                if wy < 0 or wy >= h - 1:
                    continue
                for wx in range(x - 1, x + 1):
                    if wx < 0 or wx >= w - 1:
                        continue
                    wi = wy * ww + wx
                    wcnt[wi] += 1
                    if wcnt[wi] >= 3:  # 2->3 adds a triangle, 3->4 completes the square
                        area2[r] += 1
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
    order, starts = _value_order(u.ravel())
    parent, size, bx0, by0, bx1, by1 = ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
    border, igt, live, pos = ws[6], ws[8], ws[9], ws[10]
    parent[:] = -1
    n_live = 0
    n_bg = 0
    out = np.empty((4, _NCUT))  # rows: iou, gt, 2*area upper bound, enclosed pixels
    cur = np.array([-1.0, 0.0, -1.0, 0.0])  # no background yet: no hole
    for v in range(0, 255):
        lo, hi = starts[v], starts[v + 1]
        if lo == hi:  # the mask of T = v equals that of T = v - 1
            out[:, v] = cur
            continue
        for k in range(lo, hi):
            p = order[k]
            y, x = p // w, p % w
            parent[p] = p
            size[p] = 1
            bx0[p] = x
            bx1[p] = x
            by0[p] = y
            by1[p] = y
            border[p] = 1 if (x == 0 or y == 0 or x == w - 1 or y == h - 1) else 0
            dirty[p] = True
            live[n_live] = p
            pos[p] = n_live
            n_live += 1
            n_bg += 1
            for d in range(4):
                yy = y + (d == 0) - (d == 1)
                xx = x + (d == 2) - (d == 3)
                if yy < 0 or yy >= h or xx < 0 or xx >= w:
                    continue
                q = yy * w + xx
                if parent[q] < 0:
                    continue
                ra = _find(parent, p)
                rb = _find(parent, q)
                if ra == rb:
                    continue
                if size[ra] < size[rb]:
                    ra, rb = rb, ra
                parent[rb] = ra
                size[ra] += size[rb]
                bx0[ra] = min(bx0[ra], bx0[rb])
                by0[ra] = min(by0[ra], by0[rb])
                bx1[ra] = max(bx1[ra], bx1[rb])
                by1[ra] = max(by1[ra], by1[rb])
                border[ra] = max(border[ra], border[rb])
                dirty[ra] = True
                last = live[n_live - 1]
                live[pos[rb]] = last
                pos[last] = pos[rb]
                pos[rb] = -1
                n_live -= 1
        best, best_g, ub_max, n_out = -1.0, 0, -1, 0
        for li in range(n_live):
            r = live[li]
            if border[r] != 0:
                n_out += size[r]
                continue
            if dirty[r]:
                iou[r], igt[r] = _best_iou((bx0[r] - 1) * 1.0, (by0[r] - 1) * 1.0,
                                           min(bx1[r] + 2, w - 1) * 1.0,
                                           min(by1[r] + 2, h - 1) * 1.0, gts)
                dirty[r] = False
            if iou[r] > best or (iou[r] == best and igt[r] < best_g):
                best, best_g = iou[r], igt[r]
            ub_max = max(ub_max, 2 * (bx1[r] - bx0[r] + 2) * (by1[r] - by0[r] + 2))
        cur[0], cur[1], cur[2], cur[3] = best, best_g, ub_max, n_bg - n_out
        out[:, v] = cur
    out[:, 255] = cur
    return out
