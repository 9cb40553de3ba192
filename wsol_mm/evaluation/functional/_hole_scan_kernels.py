"""Hole-contour boxes for V2 at the cut-offs the foreground pass could not settle.

A hole is a 4-connected component of ``u <= T`` that does not reach the
border (OpenCV's hole contours of RETR_TREE); its contour's boundingRect is
the hole's bbox grown by one pixel. Background grows as T rises, so pixels
join in increasing value order; the padding ring is one fixed slot, the
outside, and a component that touches it stops being a hole.
"""
import numpy as np
from numba import njit

from ._union_find_kernels import (
    _DIRTY,
    _GT,
    _HOLE_BITS,
    _HOLE_SHIFT,
    _POS,
    _U,
    _X0,
    _X1,
    _X_MASK,
    _X_SHIFT,
    _Y0,
    _Y1,
    _Y_SHIFT,
    HOLES,
    OK,
    _best_iou,
    _drop_live,
    _find,
    _grow,
    _merge_box,
    _new_slot,
)

#: sha256 (16 hex) of the kernel files this one calls. numba's cache only notices a change
#: of the file that defines a kernel, so a change of a callee must change this line too
#: (tests/test_evaluation/test_box_functional.py checks it).
CALLEES_DIGEST = 'f91f2f09ccb42464'
_OUTSIDE = _U(0)  # slot of the padding ring: the background connected to the border
# the diagonal that joins two 4-neighbours (both background, so 4-connected through it):
# (diagonal bit, neighbour bit, neighbour bit) with bits N, W, E, S, NW, NE, SW, SE
_LINKS = ((4, 0, 1), (5, 0, 2), (6, 1, 3), (7, 2, 3))


def _group_rows() -> tuple:
    """Per 8-bit hole mask: one active 4-neighbour per group, and the number of groups.

    Active 4-neighbours that share an active diagonal neighbour are already one
    component, so each group needs one lookup. On eval_speed.py's maps 97 % of the
    pixels the hole pass visits have one group, but only 12 % one active 4-neighbour;
    reading every active 4-neighbour made the pass 1.25x slower. Rows are padded
    with the first representative (mask 0: unused). Unsigned, like every index of
    the hot loop: a signed index read from memory gets numba's negative-index
    wrap-around code.
    """
    rows, counts = [], []
    for m in range(256):
        group = {b: b for b in range(4) if m >> b & 1}
        for diag, a, b in _LINKS:
            if m >> diag & 1 and a in group and b in group:
                low, high = sorted((group[a], group[b]))
                group = {k: low if g == high else g for k, g in group.items()}
        reps = sorted(set(group.values()))
        counts.append(len(reps))
        reps = reps or [0]
        rows.append(reps + [reps[0]] * (4 - len(reps)))
    return np.array(rows, np.uint64), np.array(counts, np.int64)


_ACTIVE, _N_GROUPS = _group_rows()


@njit(cache=True)
def _hole_pass(gts, wanted, shape, order, starts, lab, parent, rec, shp, iou, live, ious,
               gidx, status):
    """Add the best hole-contour box to V2 scores at wanted cut-offs flagged HOLES.

    Only pixels up to the last flagged cut-off are visited; slots are those of
    the foreground pass, reused (that pass is over).
    """
    h, w = shape
    w2 = _U(w + 2)
    last = -1
    for t in range(255):
        if wanted[t] and status[t] == HOLES:
            last = t
    if last < 0:
        return
    for x in range(w + 2):  # the padding ring is the outside
        lab[x] = _OUTSIDE
        lab[(h + 1) * (w + 2) + x] = _OUTSIDE
    for y in range(1, h + 1):
        lab[y * (w + 2)] = _OUTSIDE
        lab[y * (w + 2) + w + 1] = _OUTSIDE
    parent[_OUTSIDE] = _OUTSIDE  # the oldest slot: always the root of a union with it
    # the outside's box is the whole padded frame, so it never grows and pixels joining it
    # take the others' path: a branch on the slot (72 % of the pixels join the outside on
    # eval_speed.py's maps, in no predictable order) made the pass 1.1x slower. The
    # outside is never live, so never scored
    rec[_OUTSIDE, _X0] = -1
    rec[_OUTSIDE, _Y0] = -1
    rec[_OUTSIDE, _X1] = w
    rec[_OUTSIDE, _Y1] = h
    # N, W, E, S as offsets from the N neighbour (unsigned indexing), and per mask the
    # offsets of its group representatives: one load less per pixel (the pass 1.04x faster)
    offs = np.array([0, w2 - _U(1), w2 + _U(1), w2 + w2], np.uint64)
    group_offs = np.empty((256, 4), np.uint64)
    for mask in range(256):
        for j in range(4):
            group_offs[mask, j] = offs[_ACTIVE[mask, j]]
    n_slots = _U(1)
    n_live = np.int64(0)  # not a literal 0: callees compile once, not per literal type
    changed = True
    cur_iou, cur_gt = -1.0, 0
    for t in range(last + 1):
        if starts[t + 1] > starts[t]:  # pixels of value t join the background u <= t
            changed = True
            for k in range(starts[t], starts[t + 1]):
                e = _U(order[_U(k)])
                m = (e >> _HOLE_SHIFT) & _HOLE_BITS  # neighbours already background
                x = (e >> _X_SHIFT) & _X_MASK
                y = e >> _Y_SHIFT
                p = (y + _U(1)) * w2 + x + _U(1)
                n_groups = _N_GROUPS[m]
                if n_groups:
                    north = p - w2
                    first = lab[north + group_offs[m, 0]]
                    r = _find(parent, _U(first))
                    for j in range(1, n_groups):  # one group at 97 % of the pixels
                        other = lab[north + group_offs[m, j]]
                        if other == first:  # same slot: same component, no lookup
                            continue
                        rq = _find(parent, _U(other))
                        if rq != r:  # merge: the younger slot under the older
                            ra, rb = (r, rq) if r < rq else (rq, r)
                            parent[rb] = ra
                            _merge_box(ra, rb, rec)
                            if rec[rb, _POS] >= 0:
                                n_live = _drop_live(rb, rec, live, n_live)
                            r = ra
                if n_groups == 0:
                    r = n_slots
                    n_slots += _U(1)
                    parent[r] = r
                    _new_slot(r, x, y, rec, live, n_live)
                    n_live += 1
                else:
                    _grow(r, np.int32(x), np.int32(y), rec)
                lab[p] = r
        if not (wanted[t] and status[t] == HOLES):
            continue
        status[t] = OK
        if changed:
            changed = False
            cur_iou, cur_gt = -1.0, 0
            for li in range(n_live):
                hr = live[li]
                if rec[hr, _DIRTY]:
                    iou[hr], rec[hr, _GT] = _best_iou(
                        (rec[hr, _X0] - 1) * 1.0, (rec[hr, _Y0] - 1) * 1.0,
                        min(rec[hr, _X1] + 2, w - 1) * 1.0, min(rec[hr, _Y1] + 2, h - 1) * 1.0, gts)
                    rec[hr, _DIRTY] = 0
                if iou[hr] > cur_iou or (iou[hr] == cur_iou and rec[hr, _GT] < cur_gt):
                    cur_iou, cur_gt = iou[hr], rec[hr, _GT]
        if cur_iou > ious[t] or (cur_iou == ious[t] and cur_gt < gidx[t]):
            ious[t], gidx[t] = cur_iou, cur_gt
