"""Union-find primitives shared by the cut-off scan kernels (numba, ``cache=True``).

Pixels live in a frame padded by one pixel on each side, so neighbour offsets
need no bounds checks. Each pixel stores the *slot* of the component it joined
(``lab``); slots are numbered in order of creation and hold one int32 record
each. A map creates few slots (one per pixel that starts a component), so
records and the slot union-find stay in the first-level cache, whatever the
map size; only ``lab`` is read at pixel positions.

Pixels are visited in value order, so :func:`sort_pixels` packs with each
pixel the masks of its neighbours that are already in the set when it joins
(8-neighbourhood for both passes: the hole pass joins 4-neighbours, and its
diagonal bits tell which of them are already joined through a corner pixel).
They are computed from ``u`` alone (a neighbour is in earlier if its value is
higher / lower, or equal and earlier in raster order, the order of the
counting sort), in one raster pass.

Hot loops index with unsigned integers (``_U``): numba adds a negative-index
check to every signed index, which costs a third of the scan.
"""
import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

_U = np.uint64
_M8, _M16 = np.uint8, np.uint16  # neighbour masks: 8 bits each, 16 packed
# mask bits of the neighbours that are padding on each side of the map (foreground bits
# 0-7: N NE E SE S SW W NW; hole bits 8-15: N W E S NW NE SW SE)
_PAD_N = _M16(0x83 | 0x3100)  # N, NE, NW
_PAD_S = _M16(0x38 | 0xC800)  # S, SE, SW
_PAD_W = _M16(0xE0 | 0x5200)  # W, NW, SW
_PAD_E = _M16(0x0E | 0xA400)  # E, NE, SE
_GATHER = np.uint64(0x0102040810204080)  # see _row_words
_NCUT = 256  # index T = cut-off; T = 255 is the empty mask
# columns of the per-slot int32 record (8 x 4 B: two slots per cache line)
_X0, _Y0, _X1, _Y1, _FIRST, _POS, _DIRTY, _GT = range(8)
_REC = 8
# per-slot int64 shape terms: low 32 bits 2 x contourArea (v1) or the number of
# 4-neighbour edges to background (V2), high 32 bits 4 x the Euler number
_LOW = 0xFFFFFFFF
# status per cut-off returned to the caller
OK, OPENCV, HOLES = 0, 1, 2  # HOLES: V2 needs the hole pass here
# packed order entries: bits 0-7 foreground mask, 8-15 hole mask, 16-39 x, 40- y
_FG_BITS, _HOLE_SHIFT, _HOLE_BITS = _U(255), _U(8), _U(255)
_X_SHIFT, _Y_SHIFT, _X_MASK = _U(16), _U(40), _U(0xFFFFFF)
# sort_pixels errors
NAN_VALUE, OUT_OF_RANGE = 1, 2
#: row bands of sort_pixels' counting sort (on a 2-vCPU Xeon the sort ran 1.25x faster
#: with three than row by row, 1.2x with four, no faster with two)
SORT_BANDS = 3


@njit(cache=True)
def _find(parent, i):
    """Root slot of slot ``i`` (uint64), with path halving."""
    while True:
        pi = _U(parent[i])
        if pi == i:
            return i
        ppi = _U(parent[pi])
        if ppi == pi:  # one hop (the common case): no write
            return pi
        parent[i] = ppi  # path halving keeps trees flat
        i = ppi


@njit(cache=True)
def _row_words(a, y, level, flags, fb, words):
    """``words[k]`` bit ``i`` set where ``a[y, 64 k + i] <= level`` (0 past the row's end),
    for the ``len(flags) // 8`` words of the row; ``words`` may be longer.

    The compares fill ``flags`` (uint64, eight per word; ``fb``: the same memory as
    bytes) in one vectorised loop, and one multiplication gathers the low bits of
    eight bytes into one byte: 4x faster than shifting the compares into a word one
    by one. Row and views are not made here: each new array costs an atomic count.
    Rows of block minima (the tail test) or of pixels (the hole pass).
    """
    n = a.shape[1]
    for x in range(n):
        fb[_U(x)] = a[y, _U(x)] <= level
    for x in range(n, len(fb)):
        fb[_U(x)] = 0
    for k in range(len(flags) >> 3):
        word = _U(0)
        for j in range(8):  # bytes of 0 / 1: byte i's bit lands on bit 56 + i
            word |= ((flags[_U((k << 3) + j)] * _GATHER) >> _U(56)) << _U(j << 3)
        words[_U(k)] = word


@njit(cache=True, inline='always')  # once per row: no call
def _word_runs(words, n_words, rx0, rx1, at):
    """The runs of set bits of a row read as ``n_words`` words (``words[n_words]`` clear):
    first and last index in ``rx0[at:]`` / ``rx1[at:]``; returns the number of runs.

    A run starts at a set bit after a clear one and ends at a set bit before a clear
    one, looking across word boundaries; a run's start is read before its end.
    """
    m, m_end = 0, 0
    carry = _U(0)  # the last bit of the word before is set
    for k in range(n_words):
        word = words[k]
        starts = word & ~((word << _U(1)) | carry)
        ends = word & ~((word >> _U(1)) | (words[k + 1] << _U(63)))
        base = k << 6
        while starts:
            rx0[at + m] = base + np.int64(trailing_zeros(starts))
            starts &= starts - _U(1)
            m += 1
        while ends:
            rx1[at + m_end] = base + np.int64(trailing_zeros(ends))
            ends &= ends - _U(1)
            m_end += 1
        carry = word >> _U(63)
    return m


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
def _row_masks(r0, r1, r2, fg, hole, masks, holes, top, bottom):
    """Neighbour masks of one row (``r1``, padded, between ``r0`` above and ``r2`` below).

    Foreground (decreasing values): ring bits N, NE, E, SE, S, SW, W, NW; a
    neighbour before in raster order (N, NE, W, NW) is in at an equal value.
    Holes (increasing values), only with ``holes`` (else 0): bits 8-15 = N, W, E, S, NW,
    NE, SW, SE (a neighbour before in raster order is in at an equal value). A padding
    neighbour (``top`` / ``bottom``: the row is the map's first / last; the first and
    last pixels of every row) is never foreground and always outside (background
    joined to the border): its bits are set after the compares, so the padding's own
    value does not matter. The compares run in uint8 rows ``fg`` and ``hole`` (twice
    the lanes of 16-bit ones: the compares alone 2.6x faster than one 16-bit row's),
    then the two are joined in ``masks``.
    """
    n = len(masks)
    if n == 0:
        return
    for x in range(n):
        v = r1[x + 1]
        fg[x] = (_M8(r0[x + 1] >= v) | _M8(r0[x + 2] >= v) << _M8(1)
                 | _M8(r1[x + 2] > v) << _M8(2) | _M8(r2[x + 2] > v) << _M8(3)
                 | _M8(r2[x + 1] > v) << _M8(4) | _M8(r2[x] > v) << _M8(5)
                 | _M8(r1[x] >= v) << _M8(6) | _M8(r0[x] >= v) << _M8(7))
    if holes:
        for x in range(n):
            v = r1[x + 1]
            hole[x] = (_M8(r0[x + 1] <= v) | _M8(r1[x] <= v) << _M8(1)
                       | _M8(r1[x + 2] < v) << _M8(2) | _M8(r2[x + 1] < v) << _M8(3)
                       | _M8(r0[x] <= v) << _M8(4) | _M8(r0[x + 2] <= v) << _M8(5)
                       | _M8(r2[x] < v) << _M8(6) | _M8(r2[x + 2] < v) << _M8(7))
        for x in range(n):
            masks[x] = _M16(fg[x]) | _M16(hole[x]) << _M16(8)
    else:
        for x in range(n):
            masks[x] = fg[x]
    put = _M16(0xFF00) if holes else _M16(0)  # padding: the hole bits set (if built)
    keep, add = _M16(0xFFFF), _M16(0)
    if top:
        keep &= ~_PAD_N
        add |= _PAD_N & put
    if bottom:
        keep &= ~_PAD_S
        add |= _PAD_S & put
    if top or bottom:
        for x in range(n):
            masks[x] = (masks[x] & keep) | add
    masks[0] = (masks[0] & ~_PAD_W) | (_PAD_W & put)
    masks[n - 1] = (masks[n - 1] & ~_PAD_E) | (_PAD_E & put)


@njit(cache=True)
def _quantize_row(src, dst, pad_row):
    """``dst = floor(255 src)`` for one row; False if a value is NaN or outside [0, 1].

    Branch-free, so the loop vectorises; invalid values are reported after it
    (their stored level is meaningless).
    """
    bad = False
    for x in range(len(src)):
        s = np.float64(src[x])
        bad |= ((s >= 0.0) & (s <= 1.0)) ^ True
        v = np.uint8(np.int32(min(max(s, 0.0), 1.0) * 255.0))  # truncation, as astype
        dst[x] = v
        pad_row[x + 1] = v
    return not bad


@njit(cache=True)
def sort_pixels(cam, levels, u, order, starts, pad, holes):
    """Quantise ``cam``, then counting-sort its pixels by value with their masks packed along.

    ``u = floor(255 cam)`` (float64 product, as numpy's ``astype(uint8)``) after
    checking each value; with ``levels``, ``u`` already holds the uint8 map and
    ``cam`` is not read (one compiled version serves both). Then
    ``order[k] = y << 40 | x << 16 | hole mask << 8 | foreground mask`` in value
    order (raster order within a value): the pixels of value ``v`` are
    ``order[starts[v]:starts[v + 1]]``. ``pad`` is a uint8 ``(H + 2, W + 2)``
    work buffer. The hole masks are only built with ``holes`` (V2's hole pass reads
    them); without, those bits are 0.

    The rows are cut into ``SORT_BANDS`` bands of ``ceil(H / SORT_BANDS)`` rows, and
    a value's pixels are laid out band after band, which is raster order. Each band
    has its own counts and write positions, and the loops take row ``i`` of every
    band in turn, pixel by pixel: neighbouring pixels mostly share a value, and the
    bands' counters form independent chains where one row's would wait for each
    previous increment of the same counter.

    Returns:
        int: 0, or NAN_VALUE / OUT_OF_RANGE (for the first bad row's values).
    """
    h, w = u.shape
    pad[0, :] = 0  # any value: _row_masks sets the padding neighbours' bits itself
    pad[h + 1, :] = 0
    for y in range(h):
        pad[y + 1, 0] = 0
        pad[y + 1, w + 1] = 0
        urow = u[y]
        if levels:
            for x in range(w):
                pad[y + 1, x + 1] = urow[x]
        elif not _quantize_row(cam[y], urow, pad[y + 1]):
            for x in range(w):
                if cam[y, x] != cam[y, x]:
                    return NAN_VALUE
            return OUT_OF_RANGE
    hb = (h + SORT_BANDS - 1) // SORT_BANDS  # rows per band (the last may have fewer)
    every = h - (SORT_BANDS - 1) * hb  # rows i < every exist in every band
    hist = np.zeros((SORT_BANDS, 257), np.int64)
    for i in range(hb):
        if i < every:
            for x in range(w):
                for k in range(SORT_BANDS):
                    hist[_U(k), _U(u[_U(k * hb + i), _U(x)]) + _U(1)] += 1
        else:
            for k in range(SORT_BANDS):
                y = k * hb + i
                if y < h:
                    for x in range(w):
                        hist[_U(k), _U(u[_U(y), _U(x)]) + _U(1)] += 1
    fill = np.empty((SORT_BANDS, 256), np.int64)  # next position of band k, value v
    starts[0] = 0
    at = 0
    for v in range(256):
        for k in range(SORT_BANDS):
            fill[k, v] = at
            at += hist[k, v + 1]
        starts[v + 1] = at
    masks = np.empty((SORT_BANDS, w), np.uint16)  # unsigned: no sign extension when packed
    fg, hole = np.empty(w, np.uint8), np.empty(w, np.uint8)
    for i in range(hb):
        for k in range(SORT_BANDS):
            y = k * hb + i
            if y < h:
                _row_masks(pad[y], pad[y + 1], pad[y + 2], fg, hole, masks[k], holes, y == 0,
                           y == h - 1)
        if i < every:
            for x in range(w):
                for k in range(SORT_BANDS):
                    y = _U(k * hb + i)
                    v = _U(u[y, _U(x)])
                    order[_U(fill[_U(k), v])] = (np.int64(y) << 40 | np.int64(x) << 16
                                                 | np.int64(masks[_U(k), _U(x)]))
                    fill[_U(k), v] += 1
        else:
            for k in range(SORT_BANDS):
                y = k * hb + i
                if y < h:
                    for x in range(w):
                        v = _U(u[_U(y), _U(x)])
                        order[_U(fill[_U(k), v])] = (np.int64(y) << 40 | np.int64(x) << 16
                                                     | np.int64(masks[_U(k), _U(x)]))
                        fill[_U(k), v] += 1
    return 0


@njit(cache=True)
def _new_slot(s, x, y, rec, live, n_live):
    rec[s, _X0] = x
    rec[s, _X1] = x
    rec[s, _Y0] = y
    rec[s, _Y1] = y
    rec[s, _DIRTY] = 1
    rec[s, _POS] = n_live
    live[_U(n_live)] = s


@njit(cache=True)
def _grow(r, x, y, rec):
    """Add pixel (x, y) to the box of slot ``r``; its score is stale only if the box grew.

    Most pixels land inside the box: compares and predictable branches, no stores.
    """
    if x < rec[r, _X0]:
        rec[r, _X0] = x
        rec[r, _DIRTY] = 1
    elif x > rec[r, _X1]:
        rec[r, _X1] = x
        rec[r, _DIRTY] = 1
    if y < rec[r, _Y0]:
        rec[r, _Y0] = y
        rec[r, _DIRTY] = 1
    elif y > rec[r, _Y1]:
        rec[r, _Y1] = y
        rec[r, _DIRTY] = 1


@njit(cache=True)
def _merge_box(ra, rb, rec):
    """Grow the box of root slot ``ra`` by that of slot ``rb`` (merged into it); ``ra``'s
    score is stale.

    The passes link the slots and merge the other records themselves: a helper taking
    more arrays (the former ``_union``) kept numba's reference counting around each
    call, atomic operations that made the foreground and hole passes 10 % slower.
    """
    rec[ra, _X0] = min(rec[ra, _X0], rec[rb, _X0])
    rec[ra, _Y0] = min(rec[ra, _Y0], rec[rb, _Y0])
    rec[ra, _X1] = max(rec[ra, _X1], rec[rb, _X1])
    rec[ra, _Y1] = max(rec[ra, _Y1], rec[rb, _Y1])
    rec[ra, _DIRTY] = 1


@njit(cache=True)
def _drop_live(rb, rec, live, n_live):
    """Swap-remove slot ``rb`` (merged into another) from the live list; the new count."""
    pos_b = rec[rb, _POS]
    last = live[_U(n_live - 1)]
    live[_U(pos_b)] = last
    rec[_U(last), _POS] = pos_b
    rec[rb, _POS] = -1
    return n_live - 1


@njit(cache=True, nogil=True)  # called from the scorers' threads
def quantize_map(cam, out):
    """``out = (cam * 255).astype(np.uint8)`` in float64, after checking every value.

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    pad_row = np.empty(cam.shape[1] + 2, np.uint8)  # unused copy of _quantize_row's
    for y in range(cam.shape[0]):
        if not _quantize_row(cam[y], out[y], pad_row):
            for x in range(cam.shape[1]):
                if cam[y, x] != cam[y, x]:
                    return NAN_VALUE
            return OUT_OF_RANGE
    return 0
