"""Compiled per-image score histograms of PxAP (numba, ``cache=True``).

Two passes over the map. The first gives each pixel a uint16 code, its score's
bin of ``np.histogram(s, edges)`` (``edges`` = the thresholds + [1, 2, 3]) plus
``nb`` for a foreground pixel (``2 nb``: an ignored pixel, dropped).

When the thresholds are exactly ``j * delta`` (what ``np.arange`` computes; the
caller checks), the first pass works in the map's own float type, 16 float32
lanes to a vector: ``r``, the integer nearest to ``t = s * (1 / delta)``, is
within half a bin of the score, so the bin is ``r - 1`` or ``r``: ``r`` when
``t >= r``. ``t`` is within a relative 2**-23 of ``s / delta`` (two float32
roundings), so that guess is exact unless ``|t - r| < r * NEAR`` (2**-20, eight
times the error); a block of ``CHUNK`` pixels holding such a score is redone with
one float64 compare per pixel of the score with the edge ``r * delta`` (the same
product as the threshold). On smooth maps few blocks are redone (eval_speed's
maps: 0.4-0.8 % at interval 0.01, 2-4 % at 0.001). A score of exactly 1 goes to
the last bin (the edge 1 may be closer than a step). Other thresholds take a
scalar pass that reads two edges per pixel.

The second pass counts the codes into uint16 sub-histograms, pixel ``i`` into
``i % streams``. Neighbouring pixels of a smooth map mostly share a bin; counted
into one histogram, each increment would wait for the previous one to the same
counter. Eight streams for up to ``FEW_BINS`` bins (interval 0.01: 8 % faster
than four on a Zen 5), four above (interval 0.001: 1.3x faster than eight; four
uint16 rows take 16 KB, the previous eight int32 ones 64 KB of a 48 KB L1
cache). The sub-histograms are added into the output (int64, or uint16 for maps
under 65536 pixels) every ``streams * 65535`` pixels, before a counter could wrap.
Hot loops index with unsigned integers (no negative-index checks).
"""
import numpy as np
from numba import literally, njit

_U = np.uint64
#: rows of the uint16 sub-histogram buffer: eight streams up to FEW_BINS bins, then four
STREAMS = 8
FEW_BINS = 256
#: the most thresholds whose codes fit the uint16 code buffer (2 * (k + 2) <= 65535)
MAX_THRESHOLDS = 32765
#: pixels per block of the uniform first pass (one exact redo per block with a near tie)
CHUNK = 64
#: relative distance from an edge under which the float-only bin guess is not trusted
NEAR = 2.0 ** -20


@njit(inline='always')
def _uniform_bin(s, inv, kmax, delta):
    """The bin of a score ``s`` in [0, 1) for thresholds ``j * delta`` (``kmax`` = the last
    threshold's index, in ``s``'s float type).

    ``r``, the nearest integer to ``s / delta`` capped at ``kmax``, is the bin or the one
    above it; the float64 compare with the edge ``r * delta`` decides. Capping is exact:
    a score whose nearest integer is past ``kmax`` lies above the last threshold, whose
    bin ends at the edge 1.
    """
    T = type(s)
    r = min(np.floor(s * inv + T(0.5)), kmax)  # a float: stays in float lanes
    return r - T(1.0) + (T(1.0) if np.float64(s) >= np.float64(r) * delta else T(0.0))


@njit(inline='always')
def _guessed_code(s, lab, dropped, inv, kmax, last, fg_off, drop, near_tol):
    """The code of one pixel from ``t = s * inv`` alone; whether ``t`` lies within
    ``r * near_tol`` of its nearest integer ``r >= 1`` (then the bin may be off by one:
    the caller redoes it exactly); whether the score is NaN or outside [0, 1]."""
    T = type(s)
    bad = ((s >= T(0.0)) & (s <= T(1.0))) ^ True
    s = min(max(s, T(0.0)), T(1.0))
    t = s * inv
    r = np.floor(t + T(0.5))
    d = t - r  # exact (Sterbenz): t is within half a step of r
    b = last if s >= T(1.0) else min(r - (T(0.0) if d >= T(0.0) else T(1.0)), kmax)
    code = drop if dropped else b + (fg_off if lab else T(0.0))
    return np.uint16(code), abs(d) < r * near_tol, bad


@njit(inline='always')
def _exact_codes(c, g, ig, use_ignore, inv, kmax, delta, fg_off, drop, start, stop, codes):
    """Codes of pixels ``start:stop`` with the float64 compare; True for a bad score."""
    T = c.dtype.type
    bad = False
    for i in range(start, stop):
        s = c[i]
        bad |= ((s >= T(0.0)) & (s <= T(1.0))) ^ True
        s = min(max(s, T(0.0)), T(1.0))
        b = kmax + T(1.0) if s >= T(1.0) else _uniform_bin(s, inv, kmax, delta)
        lab = g[i]
        code = b + (fg_off if lab else T(0.0))
        codes[i] = np.uint16(drop if use_ignore and ig[i] & (lab ^ True) else code)
    return bad


@njit(cache=True, nogil=True)
def _uniform_codes(c, g, ig, use_ignore, k, delta, codes):
    """Codes for thresholds ``j * delta``; True when a score is NaN or outside [0, 1].

    Blocks of ``CHUNK`` pixels take the float-only guess (see the module docstring); a
    block with a score within ``r * NEAR`` of an integer ``r >= 1`` is redone exactly.
    """
    T = c.dtype.type
    inv, kmax = T(1.0 / delta), T(k - 1)
    last = T(k)  # the bin of a score of exactly 1
    fg_off, drop = T(k + 2), T(2 * (k + 2))
    near_tol = T(NEAR)
    n = c.size
    full = n - n % CHUNK
    bad = False
    for base in range(0, full, CHUNK):
        near = False
        if use_ignore:  # two loops: the one without ignore pixels reads no ignore mask
            for i in range(base, base + CHUNK):
                lab = g[i]
                code, flag, out = _guessed_code(c[i], lab, ig[i] & (lab ^ True), inv, kmax,
                                                last, fg_off, drop, near_tol)
                codes[i] = code
                near |= flag
                bad |= out
        else:
            for i in range(base, base + CHUNK):
                code, flag, out = _guessed_code(c[i], g[i], False, inv, kmax, last, fg_off,
                                                drop, near_tol)
                codes[i] = code
                near |= flag
                bad |= out
        if near:
            _exact_codes(c, g, ig, use_ignore, inv, kmax, delta, fg_off, drop, base,
                         base + CHUNK, codes)
    bad |= _exact_codes(c, g, ig, use_ignore, inv, kmax, delta, fg_off, drop, full, n, codes)
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
        s = min(max(s, 0.0), 1.0)
        j = min(np.int64(s * kf), k)
        b = j - np.int64(s < edges[_U(j)]) + np.int64(s >= edges[_U(j + 1)])
        lab = np.int64(g[i])
        codes[i] = np.uint16(2 * nb if use_ignore & ig[i] & (lab == 0) else b + nb * lab)
    return bad


@njit(cache=True, nogil=True)
def _count_streams(codes, nb, sub, hist, streams):
    """Counts of the codes into ``hist`` (row 0 foreground, row 1 background): pixel ``i``
    into sub-histogram ``i % streams`` (compiled per stream count, so the inner loop
    unrolls), added into ``hist`` block by block."""
    streams = literally(streams)
    block = streams * 65535  # pixels per flush: no uint16 counter passes 65535
    n = codes.size
    if n == 0:
        hist[:] = 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        sub[:streams] = 0
        m = (stop - start) // streams
        for i in range(m):
            base = start + i * streams
            for q in range(streams):
                sub[_U(q), _U(codes[_U(base + q)])] += 1
        for i in range(start + streams * m, stop):  # fewer than `streams`: one per stream
            sub[_U(i - start - streams * m), _U(codes[_U(i)])] += 1
        # the streams summed bin by bin (vectorised over bins): written into hist by the
        # first block, added by the others
        first = start == 0
        for row, offset in ((0, nb), (1, 0)):
            for j in range(nb):
                total = np.int64(0)
                for q in range(streams):
                    total += sub[_U(q), _U(offset + j)]
                hist[row, j] = total if first else hist[row, j] + total


@njit(cache=True, nogil=True)  # called from the scorers' threads
def score_histograms(cam, gt, ignore, use_ignore, edges, delta, sub, codes, hist):
    """Foreground and background histograms of one map (ignore pixels dropped).

    Args:
        cam: float ``(H, W)`` map. gt: bool ``(H, W)``. ignore: bool ``(H, W)``
        (read when ``use_ignore``). edges: float64 bin edges, at most
        ``MAX_THRESHOLDS`` thresholds. delta: the threshold step when
        ``edges[j] == j * delta`` for every threshold, else 0. sub: uint16
        ``(STREAMS, 2 * (len(edges) - 1) + 1)`` and codes: uint16 ``(H * W,)``
        work buffers. hist: int64 ``(2, len(edges) - 1)`` output, the foreground
        histogram then the background one; uint16 when the map has fewer than
        65536 pixels (no count can wrap; a scorer keeps its records in uint16).

    Returns:
        int: 0, or 1 when the map holds NaN, 2 when a value is outside [0, 1].
    """
    nb = len(edges) - 1
    c = cam.ravel()
    if delta > 0.0:
        bad = _uniform_codes(c, gt.ravel(), ignore.ravel(), use_ignore, nb - 2, delta, codes)
    else:
        bad = _edge_codes(c, gt.ravel(), ignore.ravel(), use_ignore, edges, codes)
    if bad:
        for i in range(c.size):
            if c[i] != c[i]:
                return 1
        return 2
    if nb <= FEW_BINS:
        _count_streams(codes, nb, sub, hist, 8)
    else:
        _count_streams(codes, nb, sub, hist, 4)
    return 0
