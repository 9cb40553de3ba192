"""Hole-contour boxes for V2 at the cut-offs the foreground pass could not settle.

A hole is a 4-connected component of ``u <= T`` that does not reach the
border (OpenCV's hole contours of RETR_TREE); its contour's boundingRect is
the hole's bbox grown by one pixel. Background grows as T rises, so pixels
join in increasing value order; the padding ring is one fixed slot, the
outside, and a component that touches it stops being a hole.

Nothing below the first cut-off the pass must score is ever scored, so the
background there is labelled at once, from the runs of background pixels
along the rows (a run takes the component of the runs above it that share a
column, or a new slot), and only the pixels above it join one by one. On
eval_speed.py's maps at interval 0.01 (87 of 100 need the pass) the pass used
to walk 49 % of the pixels one by one; now 28 % are labelled as about 630
runs per map (0.025 ms), 21 % join one by one, and the pass takes 0.078
instead of 0.126 ms per map.
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
    _row_words,
    _word_runs,
)

#: sha256 (16 hex) of the kernel files this one calls. numba's cache only notices a change
#: of the file that defines a kernel, so a change of a callee must change this line too
#: (tests/test_evaluation/test_box_functional.py checks it).
CALLEES_DIGEST = '9adb25b9728da558'
_OUTSIDE = _U(0)  # slot of the padding ring: the background connected to the border
# the diagonal that joins two 4-neighbours (both background, so 4-connected through it):
# (diagonal bit, neighbour bit, neighbour bit) with bits N, W, E, S, NW, NE, SW, SE
_LINKS = ((4, 0, 1), (5, 0, 2), (6, 1, 3), (7, 2, 3))


def _group_rows() -> tuple:
    """Per 8-bit hole mask: one active 4-neighbour per group, and the number of groups.

    Active 4-neighbours that share an active diagonal neighbour are already one
    component, so each group needs one lookup. On eval_speed.py's maps 97 % of the
    pixels the hole pass visited (when it walked every pixel up to its last cut-off)
    have one group, but only 12 % one active 4-neighbour; reading every active
    4-neighbour made the pass 1.25x slower. Rows are padded
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
def _background_runs(u, level, lab, parent, rec, live):
    """Label the background ``u <= level`` as the hole pass would have, by row runs.

    A run of background pixels joins the component of the runs above it that
    share a column (4-connected; where several components meet, the younger root
    goes under the older), or starts a slot; a run on the border joins the
    outside. Every pixel's ``lab`` is its run's slot. Taking the slot of the run
    above instead of a slot per run then a union made the labelling 1.3x faster
    (0.033 -> 0.025 ms per map).

    Returns:
        tuple: the number of slots used (the outside included) and of live holes.
    """
    h, w = u.shape
    w2 = w + 2
    n_words = (w + 63) >> 6
    flags = np.empty(n_words << 3, np.uint64)
    fb = flags.view(np.uint8)
    words = np.zeros(n_words + 1, np.uint64)  # a clear word past the end
    half = (w >> 1) + 1  # runs per row <= ceil(w / 2)
    rx0 = np.empty(2 * half, np.int64)  # runs of the row above in one half, this row's in
    rx1 = np.empty(2 * half, np.int64)  # the other
    rs = np.empty(2 * half, np.uint64)  # slot of each run
    n = np.int64(1)  # slot 0 is the outside
    prev, n_prev = 0, 0
    for y in range(h):
        cur = half - prev
        _row_words(u, y, level, flags, fb, words)
        m = _word_runs(words, n_words, rx0, rx1, cur)
        i = 0
        for j in range(m):
            a, b = rx0[cur + j], rx1[cur + j]
            while i < n_prev and rx1[prev + i] < a:  # runs above that end before this one
                i += 1
            k = i
            r = _U(0)
            found = False
            while k < n_prev and rx0[prev + k] <= b:  # runs above that share a column
                q = _find(parent, _U(rs[prev + k]))
                if not found:
                    r, found = q, True
                elif q != r:  # two components meet: the younger root under the older
                    ra, rb = (r, q) if r < q else (q, r)
                    parent[rb] = ra
                    _merge_box(ra, rb, rec)
                    r = ra
                k += 1
            if not found:
                r = _U(n)
                n += 1
                parent[r] = r
                rec[r, _X0], rec[r, _X1], rec[r, _Y0], rec[r, _Y1] = a, b, y, y
                rec[r, _DIRTY], rec[r, _POS] = 1, -1
            else:
                if a < rec[r, _X0]:
                    rec[r, _X0] = a
                if b > rec[r, _X1]:
                    rec[r, _X1] = b
                rec[r, _Y1] = max(rec[r, _Y1], y)  # the outside's stays h
                rec[r, _DIRTY] = 1
            if (y == 0 or y == h - 1 or a == 0 or b == w - 1) and r != _OUTSIDE:
                parent[r] = _OUTSIDE  # r is a root; the outside's box covers everything
                r = _OUTSIDE
            rs[cur + j] = r
            o = _U((y + 1) * w2 + 1)
            for x in range(_U(a), _U(b) + _U(1)):
                lab[o + x] = r
        prev, n_prev = cur, m
    n_live = np.int64(0)
    for s in range(1, n):
        if parent[s] == s:  # a root that did not join the outside: a hole
            rec[s, _POS] = n_live
            live[n_live] = s
            n_live += 1
    return n, n_live


@njit(cache=True)
def _hole_pass(gts, wanted, u, order, starts, lab, parent, rec, shp, iou, live, ious,
               gidx, status):
    """Add the best hole-contour box to V2 scores at wanted cut-offs flagged HOLES.

    The background at the first flagged cut-off is labelled by runs
    (:func:`_background_runs`); only the pixels above it, up to the last
    flagged cut-off, are visited one by one. Slots are those of the foreground
    pass, reused (that pass is over).
    """
    h, w = u.shape
    w2 = _U(w + 2)
    t_first, last = -1, -1
    for t in range(255):
        if wanted[t] and status[t] == HOLES:
            last = t
            if t_first < 0:
                t_first = t
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
    # take the others' path: a branch on the slot (72 % of the pixels joined the outside on
    # eval_speed.py's maps when all joined one by one, in no predictable order) made the
    # pass 1.1x slower. The outside is never live, so never scored
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
    n, n_live = _background_runs(u, np.uint8(t_first), lab, parent, rec, live)
    n_slots = _U(n)
    changed = True
    cur_iou, cur_gt = -1.0, 0
    for t in range(t_first, last + 1):
        if t > t_first and starts[t + 1] > starts[t]:  # pixels of value t join: u <= t
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
