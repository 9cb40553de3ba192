"""Hole-contour boxes for V2 at the cut-offs the foreground pass could not settle.

A hole is a 4-connected component of ``u <= T`` that does not reach the
border (OpenCV's hole contours of RETR_TREE). A priority flood from the border
gives each pixel the level at which it joins the outside; only pixels that are
ever inside a hole then enter a union-find in increasing value order.
"""
import numpy as np
from numba import njit

from ._union_find_kernels import (
    _DIRTY,
    _ESC,
    _GT,
    _POS,
    _SIZE,
    _X0,
    _X1,
    _Y0,
    _Y1,
    HOLES,
    OK,
    _best_iou,
    _find,
    _new_root,
    _union,
)


@njit(cache=True)
def _escape_levels(u, last, esc, links, stack):
    """``esc[p]``: the lowest T at which pixel p is 4-connected to the border in ``u <= T``.

    That is the grayscale hole filling of ``u`` (reconstruction by erosion from
    the border), computed with the hybrid algorithm of Vincent (1993): a
    forward and a backward raster scan, then a FIFO for what they missed.
    Padding holds -1, so border pixels escape at their own value. ``last`` is
    unused (every level is exact); ``links`` and ``stack`` are the FIFO.
    """
    h, w = u.shape
    w2 = w + 2
    esc[:] = -1
    up = links  # u in the padded frame (int32), reusing the buffer
    for y in range(h):
        row = (y + 1) * w2 + 1
        for x in range(w):
            up[row + x] = u[y, x]
            esc[row + x] = 256
    for y in range(h):  # forward: up and left neighbours
        row = (y + 1) * w2 + 1
        for x in range(w):
            p = row + x
            f = min(esc[p], esc[p - w2], esc[p - 1])
            esc[p] = max(f, up[p])
    n = len(stack)
    tail = 0
    for y in range(h - 1, -1, -1):  # backward: down and right, then seed the FIFO
        row = (y + 1) * w2 + 1
        for x in range(w - 1, -1, -1):
            p = row + x
            f = max(min(esc[p], esc[p + w2], esc[p + 1]), up[p])
            esc[p] = f
            if (esc[p + w2] > f and esc[p + w2] > up[p + w2]) or (
                    esc[p + 1] > f and esc[p + 1] > up[p + 1]):
                stack[tail] = p
                tail += 1
    head, count = 0, tail
    tail %= n
    while count > 0:  # ring buffer; a pixel re-enters only when its level drops
        p = stack[head]
        head = head + 1 if head + 1 < n else 0
        count -= 1
        f = esc[p]
        for q in (p - w2, p - 1, p + 1, p + w2):
            if esc[q] > f and esc[q] != up[q]:
                esc[q] = max(f, up[q])
                if count == n:  # full: finish with raster scans (rare, still exact)
                    _scan_until_stable(esc, up, h, w)
                    return
                stack[tail] = q
                tail = tail + 1 if tail + 1 < n else 0
                count += 1


@njit(cache=True)
def _scan_until_stable(esc, up, h, w):
    """Forward and backward raster scans until nothing changes (FIFO overflow fallback)."""
    w2 = w + 2
    changed = True
    while changed:
        changed = False
        for y in range(h):
            row = (y + 1) * w2 + 1
            for x in range(w):
                p = row + x
                f = max(min(esc[p], esc[p - w2], esc[p - 1]), up[p])
                if f != esc[p]:
                    esc[p] = f
                    changed = True
        for y in range(h - 1, -1, -1):
            row = (y + 1) * w2 + 1
            for x in range(w - 1, -1, -1):
                p = row + x
                f = max(min(esc[p], esc[p + w2], esc[p + 1]), up[p])
                if f != esc[p]:
                    esc[p] = f
                    changed = True


@njit(cache=True)
def _hole_pass(u, gts, wanted, order, starts, parent, rec, iou, live, esc, ious, gidx, status):
    """Add the best hole-contour box to V2 scores at wanted cut-offs that have holes.

    A hole is a 4-connected component of ``u <= T`` not touching the border;
    its contour's boundingRect is the hole's bbox grown by one pixel. Only
    pixels that are ever inside a hole (``u < esc``) enter the union-find; a
    hole's pixels share one escape level, at which it leaves the live list.
    """
    h, w = u.shape
    w2 = w + 2
    last = -1
    for t in range(255):
        if wanted[t] and status[t] == HOLES:
            last = t
    if last < 0:
        return
    _escape_levels(u, last, esc, parent, live)
    parent[:] = -1
    act = np.zeros(len(parent), np.uint8)
    offs = np.array([-w2, -1, 1, w2])
    n_live = 0
    changed = True
    cur_iou, cur_gt = -1.0, 0
    for t in range(last + 1):
        if starts[t + 1] > starts[t]:  # pixels of value t join the background u <= t
            changed = True
            for k in range(starts[t], starts[t + 1]):
                p = order[2 * k]
                if esc[p] <= t:  # joins the outside at once
                    continue
                act[p] = 1
                rp = -1
                for o in range(4):
                    q = p + offs[o]
                    if not act[q] or parent[q] == rp:
                        continue
                    rq = _find(parent, q)
                    if rp < 0:
                        rp = rq
                    elif rq != rp:
                        rp, n_live = _union(rp, rq, parent, rec, live, n_live)
                yx = order[2 * k + 1]
                y, x = yx >> 16, yx & 0xFFFF
                if rp < 0:
                    parent[p] = p
                    _new_root(p, x, y, rec, live, n_live)
                    rec[p, _ESC] = esc[p]
                    n_live += 1
                else:
                    parent[p] = rp
                    rec[rp, _SIZE] += 1
                    rec[rp, _X0] = min(rec[rp, _X0], x)
                    rec[rp, _X1] = max(rec[rp, _X1], x)
                    rec[rp, _Y0] = min(rec[rp, _Y0], y)
                    rec[rp, _Y1] = max(rec[rp, _Y1], y)
                    rec[rp, _DIRTY] = 1
        if not (wanted[t] and status[t] == HOLES):
            continue
        status[t] = OK
        if changed:
            changed = False
            cur_iou, cur_gt = -1.0, 0
            li = 0
            while li < n_live:
                r = live[li]
                if rec[r, _ESC] <= t:  # reached the border: no longer a hole
                    n_live -= 1
                    live[li] = live[n_live]
                    rec[live[li], _POS] = li
                    rec[r, _POS] = -1
                    continue
                if rec[r, _DIRTY]:
                    iou[r], rec[r, _GT] = _best_iou(
                        (rec[r, _X0] - 1) * 1.0, (rec[r, _Y0] - 1) * 1.0,
                        min(rec[r, _X1] + 2, w - 1) * 1.0, min(rec[r, _Y1] + 2, h - 1) * 1.0, gts)
                    rec[r, _DIRTY] = 0
                if iou[r] > cur_iou or (iou[r] == cur_iou and rec[r, _GT] < cur_gt):
                    cur_iou, cur_gt = iou[r], rec[r, _GT]
                li += 1
        if cur_iou > ious[t] or (cur_iou == ious[t] and cur_gt < gidx[t]):
            ious[t], gidx[t] = cur_iou, cur_gt
