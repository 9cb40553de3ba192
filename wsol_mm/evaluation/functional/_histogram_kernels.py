"""Compiled per-image score histograms of PxAP (numba, ``cache=True``).

Each pixel gets a uint16 code, its score's bin of ``np.histogram(s, edges)``
(``edges`` = the thresholds + [1, 2, 3]) plus ``nb`` for a foreground pixel
(``2 nb``: an ignored pixel, dropped), and the codes are counted.

When the thresholds are exactly ``j * delta`` (what ``np.arange`` computes; the
caller checks), the map is coded in blocks of ``CHUNK`` pixels in its own float
type, a vector of float32 lanes at a time: ``f = floor(t)``, ``t = s * (1 / delta)``,
is the bin. ``t`` is within a relative 2**-23 of ``s / delta`` (two float32
roundings), so that guess is exact unless ``t`` lies within ``r * NEAR`` (2**-21,
four times the error) of an integer ``r``: ``f`` or ``f + 1``. A block holding such a
score, or a NaN or a score outside [0, 1], is redone: each pixel's guess, off by at most
one bin, is corrected with two float64 compares against the edges on either side of it.
On smooth maps few blocks are redone (eval_speed's maps: 0.3 % at interval 0.01, 1.7 %
at 0.001). The block coded in one iteration is counted in the next, while the
following block is coded: the vector work of one and the increments of the other
overlap (1.3-1.45x the previous kernel, which coded the whole map and then counted it,
on a 2-core Xeon with AMX), and the counts read codes stored an iteration before.
Other thresholds take a scalar pass that reads two edges per pixel, then a count.

Codes are counted into uint16 sub-histograms, pixel ``i`` into ``i % streams``.
Neighbouring pixels of a smooth map mostly share a bin; counted into one histogram,
each increment would wait for the previous one to the same counter. Eight streams for
up to ``FEW_BINS`` bins (interval 0.01: 8 % faster than four on a Zen 5), four above
(interval 0.001: 1.3x faster than eight there; four uint16 rows take 16 KB, the
previous eight int32 ones 64 KB of a 48 KB L1 cache). The sub-histograms are added
into the output (int64, or uint16 for maps under 65536 pixels) before a counter could
wrap: every ``streams * 65535 // CHUNK`` blocks, or ``streams * 65535`` pixels.
Hot loops index with unsigned integers (no negative-index checks).

A scorer scores its maps a group at a time in one call of :func:`score_histogram_group`
(``pxap.GROUP`` maps): the GIL is released once per group instead of once per map. On
numba's OpenMP threads, :func:`score_histogram_group_parallel` scores a group's maps on
several threads at once, a map per iteration.
"""
import numpy as np
from numba import literally, njit, prange

_U = np.uint64
#: rows of the uint16 sub-histogram buffer: eight streams up to FEW_BINS bins, then four
STREAMS = 8
FEW_BINS = 256
#: the most thresholds whose codes fit the uint16 code buffer (2 * (k + 2) <= 65535)
MAX_THRESHOLDS = 32765
#: pixels per block of the uniform path (one exact redo per block with a doubtful guess)
CHUNK = 64
#: relative distance from an edge under which the float-only bin guess is not trusted
#: (4x its error: 2**-20 redid twice the blocks, 4-5 % slower at interval 0.001)
NEAR = 2.0 ** -21


@njit(inline='always')
def _guessed_bin(s, inv, last, near_tol, top):
    """``floor(s * inv)`` (``last`` for a score of 1), and whether to doubt it: ``t = s * inv``
    within ``f * near_tol`` of ``f = floor(t)`` or ``(f + 1) * near_tol`` of ``f + 1``, or
    the score NaN or outside [0, 1]."""
    T = type(s)
    one = T(1.0)
    out = ((s >= T(0.0)) & (s <= one)) ^ True
    t = s * inv
    f = np.floor(t)
    frac = t - f  # exact: f <= t < 2 f for t >= 1
    gap = f * near_tol
    return (f if s < one else last), out | (frac < gap) | (frac > top - gap)


@njit(inline='always')
def _guessed_block(c, g, base, inv, last, fg_off, near_tol, buf, off):
    """Codes of pixels ``base:base + CHUNK`` into ``buf[off:off + CHUNK]`` from their
    guessed bins, ignore pixels not dropped; True when one of them is in doubt (the bin may
    be off by one, or the code is garbage: the caller redoes the block exactly)."""
    T = c.dtype.type
    zero = T(0.0)
    top = T(1.0) - near_tol
    doubt = False
    for i in range(CHUNK):
        f, flag = _guessed_bin(c[base + i], inv, last, near_tol, top)
        doubt |= flag
        buf[off + i] = np.uint16(f + (fg_off if g[base + i] else zero))
    return doubt


@njit(inline='always')
def _drop_ignored(g, ig, base, drop, buf, off):
    """The code ``drop`` for the ignore pixels of the block that are not foreground (a loop
    of its own: with it inside the guessing loop, that loop ran 1.3x slower)."""
    for i in range(CHUNK):
        if ig[base + i] & (g[base + i] ^ True):
            buf[off + i] = np.uint16(drop)


@njit(inline='always')
def _exact_block(c, g, ig, use_ignore, inv, last, edges, fg_off, drop, base, count, buf, off):
    """Codes of pixels ``base:base + count`` into ``buf[off:off + count]``: the guess
    ``floor(s * inv)`` (at most ``last``), off by at most one bin, corrected by float64
    compares with the edges below and above it (the same bins as one compare with a
    recomputed edge ``r * delta``, which made the kernel at interval 0.001 1.27x slower:
    71.6 against 56.2 us per map on one thread). True when a score is NaN or outside
    [0, 1] (its code is then still a valid one: the block is counted before the map is
    refused)."""
    T = c.dtype.type
    bad = False
    for i in range(count):
        s = c[base + i]
        inside = (s >= T(0.0)) & (s <= T(1.0))
        bad |= inside ^ True
        s = s if inside else (T(1.0) if s > T(1.0) else T(0.0))  # NaN too: a valid code
        f = _U(min(s * inv, last))
        s64 = np.float64(s)
        b = f - _U(s64 < edges[f]) + _U(s64 >= edges[f + _U(1)])
        lab = g[base + i]
        code = b + (_U(fg_off) if lab else _U(0))
        buf[off + i] = np.uint16(_U(drop) if use_ignore and ig[base + i] & (lab ^ True)
                                 else code)
    return bad


@njit(inline='always')
def _count_block(buf, off, count, sub, streams):
    """Counts of ``buf[off:off + count]`` into the sub-histograms, pixel ``i`` into row
    ``i % streams`` (``count`` a multiple of ``streams``, or below it)."""
    m = count // streams
    for i in range(m):
        for q in range(streams):
            sub[_U(q), _U(buf[_U(off + i * streams + q)])] += 1
    for i in range(count - m * streams):
        sub[_U(i), _U(buf[_U(off + m * streams + i)])] += 1


@njit(inline='always')
def _flush(sub, streams, nb, hist, first):
    """The streams summed bin by bin (vectorised over bins) into ``hist`` (row 0 foreground,
    row 1 background): written by the first flush, added by the others; ``sub`` zeroed."""
    for row, offset in ((0, nb), (1, 0)):
        for j in range(nb):
            total = np.int64(0)
            for q in range(streams):
                total += sub[_U(q), _U(offset + j)]
            hist[row, j] = total if first else hist[row, j] + total
    sub[:streams] = 0


@njit(cache=True, nogil=True)
def _uniform_histograms(c, g, ig, use_ignore, k, delta, edges, buf, sub, hist,
                        streams):
    """Histograms for thresholds ``j * delta``; True when a score is NaN or outside [0, 1].

    Block ``j`` of ``CHUNK`` pixels is coded into half ``j % 2`` of ``buf`` (the float-only
    guess, redone exactly when in doubt) while block ``j - 1``, coded in the previous
    iteration, is counted: the vector work of one and the increments of the other overlap,
    and no count reads a code stored just before.
    """
    streams = literally(streams)
    T = c.dtype.type
    inv = T(1.0 / delta)
    last = T(k)  # the bin of a score of exactly 1
    fg_off, drop = T(k + 2), T(2 * (k + 2))
    near_tol = T(NEAR)
    nb = k + 2
    n = c.size
    blocks = n // CHUNK
    per_flush = streams * 65535 // CHUNK  # counted blocks before a uint16 counter could wrap
    sub[:streams] = 0
    bad = False
    first, counted = True, 0
    for j in range(blocks + 1):  # block j coded, block j - 1 counted
        if j < blocks:
            base = j * CHUNK
            off = (j & 1) * CHUNK
            doubt = _guessed_block(c, g, base, inv, last, fg_off, near_tol, buf, off)
            if use_ignore:
                _drop_ignored(g, ig, base, drop, buf, off)
            if doubt:
                bad |= _exact_block(c, g, ig, use_ignore, inv, last, edges, fg_off, drop,
                                    base, CHUNK, buf, off)
        if j > 0:
            _count_block(buf, ((j - 1) & 1) * CHUNK, CHUNK, sub, streams)
            counted += 1
            if counted == per_flush:
                _flush(sub, streams, nb, hist, first)
                first, counted = False, 0
    # the rest, fewer than CHUNK pixels, joins at most per_flush - 1 counted blocks: no wrap
    rest = n - blocks * CHUNK
    bad |= _exact_block(c, g, ig, use_ignore, inv, last, edges, fg_off, drop, blocks * CHUNK,
                        rest, buf, 0)
    _count_block(buf, 0, rest, sub, streams)
    _flush(sub, streams, nb, hist, first)
    return bad


@njit(cache=True, nogil=True)
def _edge_codes(c, g, ig, use_ignore, edges, codes):
    """Codes for any increasing thresholds: the guess ``int(s * k)`` is off by at most one
    bin; two compares with the edges correct it."""
    k = len(edges) - 3  # number of thresholds
    nb = k + 2
    kf = np.float64(k)
    bad = False
    for i in range(c.size):
        s = np.float64(c[i])
        bad |= ((s >= 0.0) & (s <= 1.0)) ^ True
        s = min(max(s, 0.0), 1.0) if s == s else 0.0  # NaN: any in-range code (refused)
        j = min(np.int64(s * kf), k)
        b = j - np.int64(s < edges[_U(j)]) + np.int64(s >= edges[_U(j + 1)])
        lab = np.int64(g[i])
        codes[i] = np.uint16(2 * nb if use_ignore & ig[i] & (lab == 0) else b + nb * lab)
    return bad


@njit(cache=True, nogil=True)
def _count_streams(codes, nb, sub, hist, streams):
    """Counts of the codes into ``hist``, in blocks of ``streams * 65535`` pixels (no uint16
    counter passes 65535), each added into ``hist`` (compiled per stream count, so the
    inner loop unrolls)."""
    streams = literally(streams)
    block = streams * 65535
    n = codes.size
    sub[:streams] = 0
    for start in range(0, n, block):
        _count_block(codes, start, min(block, n - start), sub, streams)
        _flush(sub, streams, nb, hist, start == 0)
    if n == 0:
        _flush(sub, streams, nb, hist, True)


@njit(inline='always')
def _bad_code(c):
    """1 when the map holds NaN, else 2 (a value outside [0, 1])."""
    for i in range(c.size):
        if c[i] != c[i]:
            return 1
    return 2


@njit(cache=True, nogil=True)  # called from the scorers' threads
def score_histograms(cam, gt, ignore, use_ignore, edges, delta, sub, codes, hist):
    """Foreground and background histograms of one map (ignore pixels dropped).

    Args:
        cam: float ``(H, W)`` map. gt: bool ``(H, W)``. ignore: bool ``(H, W)``
        (read when ``use_ignore``). edges: float64 bin edges, at most
        ``MAX_THRESHOLDS`` thresholds. delta: the threshold step when
        ``edges[j] == j * delta`` for every threshold, else 0. sub: uint16
        ``(STREAMS, 2 * (len(edges) - 1) + 1)`` and codes: uint16 work buffers,
        codes of ``2 * CHUNK`` values when ``delta > 0``, else ``H * W``. hist: int64
        ``(2, len(edges) - 1)`` output, the foreground histogram then the background
        one; uint16 when the map has fewer than 65536 pixels (no count can wrap; a
        scorer keeps its records in uint16).

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    nb = len(edges) - 1
    c = cam.ravel()
    if delta > 0.0:
        if nb <= FEW_BINS:
            bad = _uniform_histograms(c, gt.ravel(), ignore.ravel(), use_ignore, nb - 2, delta,
                                      edges, codes, sub, hist, 8)
        else:
            bad = _uniform_histograms(c, gt.ravel(), ignore.ravel(), use_ignore, nb - 2, delta,
                                      edges, codes, sub, hist, 4)
        return _bad_code(c) if bad else 0
    if _edge_codes(c, gt.ravel(), ignore.ravel(), use_ignore, edges, codes):
        return _bad_code(c)
    if nb <= FEW_BINS:
        _count_streams(codes, nb, sub, hist, 8)
    else:
        _count_streams(codes, nb, sub, hist, 4)
    return 0


@njit(cache=True, nogil=True)  # called from the scorers' threads
def score_histogram_group(cams, gts, ignores, use_ignore, count, edges, delta, sub, codes,
                          hists):
    """:func:`score_histograms` of the first ``count`` maps of tuples of maps.

    Compiled once per tuple length (the caller pads its groups to one length).

    Args:
        cams, gts, ignores: tuples of ``G`` arrays as in :func:`score_histograms` (the
            maps past ``count`` are padding, not read). use_ignore, edges, delta, sub,
            codes: as there, shared by the maps. count: the maps to score.
        hists: ``(G, 2, len(edges) - 1)`` output, ``hists[i]`` the histograms of map i.

    Returns:
        tuple: ``(i, code)``: the first map holding NaN (code 1) or a value outside
        [0, 1] (code 2), the maps after it not scored; ``(count, 0)`` when every map is
        valid.
    """
    for i in range(count):
        bad = score_histograms(cams[i], gts[i], ignores[i], use_ignore, edges, delta, sub,
                               codes, hists[i])
        if bad:
            return i, bad
    return count, 0


@njit(cache=True, nogil=True, parallel=True)  # on numba's threads (pxap.parallel_threads)
def score_histogram_group_parallel(cams, gts, ignores, use_ignore, count, edges, delta, hists):
    """:func:`score_histogram_group`, a map per iteration on numba's threads (each map with
    its own work buffers; every map is scored).

    Args:
        cams, gts, ignores, use_ignore, count, edges, delta, hists: as there (uniform
            thresholds: ``delta > 0``).

    Returns:
        tuple: ``(i, code)`` of the first map holding NaN (1) or a value outside [0, 1]
        (2), ``(count, 0)`` when every map is valid.
    """
    nb = len(edges) - 1
    status = np.zeros(count, np.int64)
    for i in prange(count):
        sub = np.empty((STREAMS, 2 * nb + 1), np.uint16)
        codes = np.empty(2 * CHUNK, np.uint16)
        status[i] = score_histograms(cams[i], gts[i], ignores[i], use_ignore, edges, delta,
                                     sub, codes, hists[i])
    for i in range(count):
        if status[i]:
            return i, status[i]
    return count, 0
