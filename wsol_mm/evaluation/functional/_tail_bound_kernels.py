"""When the lowest cut-offs are settled, so the foreground pass can stop (numba, ``cache=True``).

The pass adds pixels in decreasing value; at low cut-offs of a CAM most pixels
join one large component last, with the most merges. Once the answer at
every lower cut-off is known, they need no pass.

v1 (:func:`_v1_final`): a component whose box is the whole map and which
holds more than half of it stays the largest contour with that box.

V2 (:func:`tail_settled`): once one component ``c`` at cut-off ``T`` has the
whole map as its box, every lower cut-off has a component with that box (the
one holding ``c``), scored ``I_full``. Every other box there belongs to an
object that avoids ``c``: a foreground component disjoint from it, or a hole
(background). Both are 8-connected sets of pixels outside ``c`` at ``T``,
that is of background pixels (``u <= T``) and of the other live components,
each of which touches only background. So each lies in one group: an
8-connected component of the 4 x 4 blocks that hold background at ``T`` (a
block's minimum is ``<= T``), joined with the live components whose ring of
background falls in its blocks. A box inside a group's pixel extent (grown
by one, and two on the far side: the hole convention) meets a GT box ``g`` in
at most the extent's intersection with ``g``, and its IoU is at most that
over ``|g|``. When no group reaches the IoU that matters (the next floor
above ``I_full``, or ``I_full`` itself when exact), every lower cut-off
scores ``I_full``. The pass tries this test (a few microseconds: block rows
as runs, a union-find over the runs) at each wanted cut-off with a whole-map
component until it holds, at most ``MAX_TRIES`` times.

On eval_speed.py's maps at interval 0.01 the pass stops with 38 % (v1) and
25 % (V2, 3.5 tries on average) of the pixels left, which take 30-40 % of
its time.
"""
import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from ._union_find_kernels import (
    _LOW,
    _U,
    _X0,
    _X1,
    _Y0,
    _Y1,
    OK,
    _best_iou,
    _find,
    _row_words,
    _word_runs,
)

#: sha256 (16 hex) of the kernel files this one calls. numba's cache only notices a change
#: of the file that defines a kernel, so a change of a callee must change this line too
#: (tests/test_evaluation/test_box_functional.py checks it).
CALLEES_DIGEST = '9adb25b9728da558'
MAX_TRIES = 8  # a map whose background stays too coarse costs at most 8 block passes
# 4 x 4 pixel blocks. Simulated on eval_speed.py's maps, the V2 pass would stop with 34 %
# of the pixels left with exact components of everything outside c, 32 % with 2 x 2
# blocks, 29 % with 4 x 4 and 22 % with 8 x 8; a test over 4 x 4 blocks costs 3-7 us
_SHIFT = 2


@njit(cache=True)
def block_minima(u, acc, bmin):
    """``bmin[by, bx]`` = minimum of ``u`` over its 4 x 4 block (partial at the far edges).

    Row minima first (a vectorised loop over ``acc``, one row of ``W``), then one
    short reduction per block.
    """
    h, w = u.shape
    for by in range(bmin.shape[0]):
        y0 = by << _SHIFT
        r0 = u[y0]
        for x in range(w):
            acc[_U(x)] = r0[_U(x)]
        for y in range(y0 + 1, min(y0 + (1 << _SHIFT), h)):
            r = u[y]
            for x in range(w):
                a, b = acc[_U(x)], r[_U(x)]
                acc[_U(x)] = a if a < b else b
        out = bmin[by]
        for bx in range(w >> _SHIFT):
            x0 = _U(bx << _SHIFT)
            out[_U(bx)] = min(min(acc[x0], acc[x0 + _U(1)]), min(acc[x0 + _U(2)], acc[x0 + _U(3)]))
        if w & 3:  # a partial last block
            x0 = (w >> _SHIFT) << _SHIFT
            m = acc[_U(x0)]
            for x in range(x0 + 1, w):
                m = min(m, acc[_U(x)])
            out[_U(w >> _SHIFT)] = m


@njit(cache=True)
def _reaches(x0, y0, x1, y1, gts, target):
    """Whether a box inside pixel extent (x0, y0, x1, y1), grown as a hole box (one pixel,
    two on the far side), may reach IoU ``target`` with a GT box.
    """
    x0, y0, x1, y1 = x0 - 1.0, y0 - 1.0, x1 + 2.0, y1 + 2.0
    for j in range(gts.shape[0]):
        gx0, gy0, gx1, gy1 = gts[j, 0], gts[j, 1], gts[j, 2], gts[j, 3]
        iw = max(0.0, min(x1, gx1) - max(x0, gx0) + 1.0)
        ih = max(0.0, min(y1, gy1) - max(y0, gy0) + 1.0)
        # small relative margin: the bound must never fall below a float IoU
        if iw * ih >= (target - 1e-9) * (gx1 - gx0 + 1.0) * (gy1 - gy0 + 1.0):
            return True
    return False


@njit(cache=True)
def _link(a, b, parent, ext):
    """Union of runs ``a`` and ``b`` (extents merged into the older root)."""
    ra, rb = _find(parent, _U(a)), _find(parent, _U(b))
    if ra == rb:
        return
    if rb < ra:
        ra, rb = rb, ra
    parent[rb] = ra
    ext[ra, 0] = min(ext[ra, 0], ext[rb, 0])
    ext[ra, 1] = min(ext[ra, 1], ext[rb, 1])
    ext[ra, 2] = max(ext[ra, 2], ext[rb, 2])
    ext[ra, 3] = max(ext[ra, 3], ext[rb, 3])


@njit(cache=True, inline='always')  # inlined: a call per row cost 0.5-1 us per test
def _row_runs(bmin, level, by, h, w, rx0, rx1, parent, ext, n, flags, fb, words):
    """Append the runs of background blocks of block row ``by`` at index ``n``: first and
    last block (``rx0``, ``rx1``), a fresh union-find entry and the pixel extent (``ext``,
    clipped to the map); returns the new count. ``flags`` / ``fb`` / ``words``: buffers
    of :func:`_row_words` (``words`` one longer, its last word clear).

    Read 64 blocks at a time; wider rows through :func:`_word_runs`. One word (the common
    case, maps up to 256 pixels wide) pairs starts and ends directly: through the general
    path a test took 5.5 us instead of 2.9 us (measured when rows were read bit by bit,
    before :func:`_row_words`).
    """
    y0, y1 = by << _SHIFT, min(((by + 1) << _SHIFT) - 1, h - 1)
    n_words = len(flags) >> 3
    _row_words(bmin, by, level, flags, fb, words)
    word = words[0]
    if n_words == 1:  # one word (maps up to 256 pixels wide): starts and ends pair up
        starts, ends = word & ~(word << _U(1)), word & ~(word >> _U(1))
        while starts:
            x0, x1 = np.int64(trailing_zeros(starts)), np.int64(trailing_zeros(ends))
            starts &= starts - _U(1)
            ends &= ends - _U(1)
            rx0[n], rx1[n], parent[n] = x0, x1, n
            ext[n, 0], ext[n, 1] = x0 << _SHIFT, y0
            ext[n, 2], ext[n, 3] = min(((x1 + 1) << _SHIFT) - 1, w - 1), y1
            n += 1
        return n
    m = _word_runs(words, n_words, rx0, rx1, n)
    for k in range(n, n + m):
        parent[k] = k
        ext[k, 0], ext[k, 1] = rx0[k] << _SHIFT, y0
        ext[k, 2], ext[k, 3] = min(((rx1[k] + 1) << _SHIFT) - 1, w - 1), y1
    return n + m


@njit(cache=True)
def tail_settled(t, c, bmin, gts, target, rec, live, n_live, h, w):
    """Whether no object outside component ``c`` can reach ``target`` at cut-off ``t`` or
    below (``c``'s box is the whole map; see the module docstring).

    The background blocks (minimum ``<= t``) of each block row form runs, read from
    the row's bits 64 blocks at a time (a loop over the blocks made a test take
    6.5-7.5 us in the pass instead of 4.3-4.9 us); runs of consecutive rows that touch
    (8-connected) are joined, then each live component other than ``c`` joins the runs
    around it.
    """
    if target > 1.0:
        return True
    gh, gw = bmin.shape
    n_max = gh * ((gw + 1) >> 1)  # runs per row <= ceil(gw / 2)
    rx0 = np.empty(n_max, np.int64)
    rx1 = np.empty(n_max, np.int64)
    parent = np.empty(n_max, np.int32)
    ext = np.empty((n_max, 4), np.int64)  # pixel x0, y0, x1, y1
    row_start = np.empty(gh + 1, np.int64)
    level = np.uint8(min(t, 255))
    n_words = (gw + 63) >> 6
    flags = np.empty(n_words << 3, np.uint64)
    fb = flags.view(np.uint8)
    words = np.zeros(n_words + 1, np.uint64)  # a clear word past the end
    n = 0
    for by in range(gh):
        row_start[by] = n
        n = _row_runs(bmin, level, by, h, w, rx0, rx1, parent, ext, n, flags, fb, words)
        if by > 0:  # join with the touching runs of the row above
            j = row_start[by - 1]
            for k in range(row_start[by], n):
                while j < row_start[by] and rx1[j] < rx0[k] - 1:
                    j += 1
                i = j
                while i < row_start[by] and rx0[i] <= rx1[k] + 1:
                    _link(k, i, parent, ext)
                    i += 1
    row_start[gh] = n
    for li in range(n_live):  # each other component joins the runs of its ring
        d = live[li]
        if d == c:
            continue
        bx0 = max(rec[d, _X0] - 1, 0) >> _SHIFT
        bx1 = min(rec[d, _X1] + 1, w - 1) >> _SHIFT
        first = np.int64(-1)  # not a literal: one compiled _link
        for by in range(max(rec[d, _Y0] - 1, 0) >> _SHIFT,
                        (min(rec[d, _Y1] + 1, h - 1) >> _SHIFT) + 1):
            for k in range(row_start[by], row_start[by + 1]):
                if rx0[k] <= bx1 and rx1[k] >= bx0:
                    if first < 0:
                        first = k
                    else:
                        _link(first, k, parent, ext)
        if first < 0:  # no background around it: cannot happen; decide nothing
            return False
        r = _find(parent, _U(first))
        ext[r, 0] = min(ext[r, 0], rec[d, _X0])
        ext[r, 1] = min(ext[r, 1], rec[d, _Y0])
        ext[r, 2] = max(ext[r, 2], rec[d, _X1])
        ext[r, 3] = max(ext[r, 3], rec[d, _Y1])
    for k in range(n):
        if parent[k] == k and _reaches(ext[k, 0], ext[k, 1], ext[k, 2], ext[k, 3], gts, target):
            return False
    return True


@njit(cache=True)
def tail_setup(u, gts, floors, multi):
    """V2's block minima, and the IoU that no object outside a whole-map component may
    reach for the pass to stop (v1: no minima, and 2.0).
    """
    h, w = u.shape
    if not multi:
        return np.empty((0, 0), np.uint8), 2.0
    i_full = _best_iou(0.0, 0.0, w - 1.0, h - 1.0, gts)[0]  # a whole-map box (clipped)
    bmin = np.empty(((h + 3) >> 2, (w + 3) >> 2), np.uint8)
    block_minima(u, np.empty(w, np.uint8), bmin)
    return bmin, _next_floor(i_full, floors)


@njit(cache=True)
def _fill_below(t, value, gt, wanted, ious, gidx, status):
    """Score every wanted cut-off below ``t`` as ``value`` / ``gt`` (status OK)."""
    for s in range(t - 1, -1, -1):
        if wanted[s]:
            ious[s], gidx[s], status[s] = value, gt, OK


@njit(cache=True)
def _spans_map(r, rec, h, w):
    """Whether the box of slot ``r`` is the whole ``h`` x ``w`` map."""
    return rec[r, _X0] == 0 and rec[r, _Y0] == 0 and rec[r, _X1] == w - 1 and rec[r, _Y1] == h - 1


@njit(cache=True)
def _whole_map_component(rec, live, n_live, h, w):
    """A live component whose box is the whole map, or -1."""
    for li in range(n_live):
        r = np.int64(live[li])  # int64, as the v1 candidate: one compiled _spans_map
        if _spans_map(r, rec, h, w):
            return r
    return -1


@njit(cache=True)
def _v1_final(c, rec, shp, h, w):
    """Whether component ``c`` is the largest contour, with this box, at every lower cut-off.

    True when its box is the whole map and twice its pixel-window area (a lower bound of
    its contour area A_c, and at most its pixel count n_c) exceeds ``h * w``. The box then
    cannot grow, and any other component, now or at a lower cut-off, lies outside ``c``
    (not in a hole: ``c`` reaches the border), so its contour area is at most
    ``h * w - n_c < A_c``; ``c`` only grows.
    """
    return _spans_map(c, rec, h, w) and (shp[c] & _LOW) > h * w


@njit(cache=True)
def _next_floor(best, floors):
    """The IoU another box must reach to matter: ``best`` (exact mode) or the next floor.

    Returns 2.0 when ``best`` is at or above every floor (nothing can change).
    """
    if len(floors) == 0:
        return best
    for f in floors:
        if f > best:
            return f
    return 2.0
