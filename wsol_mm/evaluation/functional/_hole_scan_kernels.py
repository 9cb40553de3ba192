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

    Priority flood from the border with one bucket per value (linked lists in
    ``links``), stopped after level ``last``; pixels not reached keep 256 and
    padding gets -1. Background pixel p is inside a hole at T iff
    ``u[p] <= T < esc[p]``.
    """
    h, w = u.shape
    w2 = w + 2
    esc[:] = -1
    up = np.empty(len(esc), np.uint8)  # u in the padded frame
    for y in range(h):
        row = (y + 1) * w2 + 1
        for x in range(w):
            up[row + x] = u[y, x]
            esc[row + x] = 256
    head = np.full(257, -1, np.int32)
    border = np.empty(2 * (h + w), np.int64)  # border pixels join the outside at their value
    for x in range(w):
        border[2 * x] = w2 + 1 + x
        border[2 * x + 1] = h * w2 + 1 + x
    for y in range(h):
        border[2 * w + 2 * y] = (y + 1) * w2 + 1
        border[2 * w + 2 * y + 1] = (y + 1) * w2 + w
    for p in border:
        if esc[p] == 256:  # corners appear twice
            v = up[p]
            esc[p] = v
            links[p] = head[v]
            head[v] = p
    offs = np.array([-w2, -1, 1, w2])
    for b in range(last + 1):
        n_st = 0
        q = head[b]
        while q >= 0:
            stack[n_st] = q
            n_st += 1
            q = links[q]
        while n_st > 0:
            n_st -= 1
            q = stack[n_st]
            for o in range(4):
                nb = q + offs[o]
                if esc[nb] != 256:
                    continue
                v = up[nb]
                if v <= b:  # reached at this level
                    esc[nb] = b
                    stack[n_st] = nb
                    n_st += 1
                else:  # reached once the level gets to its value
                    esc[nb] = v
                    links[nb] = head[v]
                    head[v] = nb


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
