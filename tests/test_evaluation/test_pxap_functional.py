"""PxAP / pIoU maths against the reference histogram and spec vectors."""
import numpy as np
import pytest

from wsol_mm.evaluation.functional import (
    _histogram_kernels,
    piou_from_histograms,
    pixel_histograms,
    pixel_histograms_many,
    pxap,
    pxap_from_histograms,
    reference_histograms,
    threshold_list,
)
from wsol_mm.evaluation.functional.pxap import kernel_bins


def _masks(rng):
    gt = np.zeros((32, 40), bool)
    gt[5:20, 8:30] = True
    ignore = np.zeros_like(gt)
    ignore[18:28, 0:12] = True  # overlaps the foreground: foreground wins
    return gt, ignore


@pytest.mark.parametrize('interval', [0.01, 0.001])
def test_histograms_match_numpy(interval):
    rng = np.random.default_rng(0)
    gt, ignore = _masks(rng)
    thrs = threshold_list(interval)
    for cam in (rng.random(gt.shape), np.round(rng.random(gt.shape), 2), gt * 1.0,
                np.full(gt.shape, 0.35)):
        fg, bg = pixel_histograms(cam, gt, ignore, thrs)
        rfg, rbg = reference_histograms(cam, gt, ignore, thrs)
        assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)


@pytest.mark.parametrize('shape', [(1, 3), (3, 5), (31, 41)])
@pytest.mark.parametrize('with_ignore', [True, False])
def test_histograms_of_any_size(shape, with_ignore):
    """Pixel counts that the kernel's eight streams do not divide: the rest is counted too."""
    rng = np.random.default_rng(2)
    gt = rng.random(shape) < 0.4
    ignore = rng.random(shape) < 0.3 if with_ignore else np.zeros(shape, bool)
    cam = rng.random(shape).astype(np.float32)
    thrs = threshold_list(0.01)
    fg, bg = pixel_histograms(cam, gt, ignore if with_ignore else None, thrs)
    rfg, rbg = reference_histograms(cam.astype(np.float64), gt, ignore, thrs)
    assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)
    assert fg.sum() + bg.sum() == (gt | ~ignore).sum()


def test_pxap_vectors():
    rng = np.random.default_rng(1)
    gt, ignore = _masks(rng)
    thrs = threshold_list(0.001)
    perfect = np.where(gt, 1.0, 0.0)
    perfect[ignore & ~gt] = rng.random((ignore & ~gt).sum())  # ignore pixels do not count
    assert pxap_from_histograms(*pixel_histograms(perfect, gt, ignore, thrs)) == 100.0
    assert piou_from_histograms(*pixel_histograms(perfect, gt, ignore, thrs)) == 100.0
    n_fg, n_bg = gt.sum(), (~gt & ~ignore).sum()
    for value in (0.0, 0.5, 1.0):
        hist = pixel_histograms(np.full(gt.shape, value), gt, ignore, thrs)
        assert pxap_from_histograms(*hist) == pytest.approx(100 * n_fg / (n_fg + n_bg))


def test_pxap_errors():
    thrs = threshold_list(0.01)
    gt = np.zeros((8, 8), bool)
    with pytest.raises(RuntimeError, match='No positive ground truth'):
        pxap_from_histograms(*pixel_histograms(np.random.rand(8, 8), gt, None, thrs))
    with pytest.raises(RuntimeError, match='No positive ground truth'):
        piou_from_histograms(np.zeros(102), np.ones(102))


def _nudged(thrs: np.ndarray) -> np.ndarray:
    thrs = thrs.copy()
    thrs[3::7] = np.nextafter(thrs[3::7], 1)  # not exactly j * step: edges read from memory
    return thrs


@pytest.mark.parametrize('thrs', [threshold_list(0.001), threshold_list(0.01),
                                  threshold_list(0.003), threshold_list(0.0007),
                                  threshold_list(0.3), threshold_list(0.05),
                                  threshold_list(1 / 161),  # 161 steps make 1 - 2**-53
                                  _nudged(threshold_list(0.01))])
@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_histograms_at_the_edges(thrs, dtype):
    """Scores on, just below and just above every edge land in numpy's bins.

    Thresholds from ``np.arange`` take the kernel's uniform path (bin ``r - 1`` or ``r``
    around the nearest ``r * step``), nudged ones its path reading the edges. Steps that
    do not divide 1 (0.003, 0.0007, 0.3) put the edge 1 closer than a step to the last
    threshold; with ``1 / 161`` the step times the number of thresholds is just below 1,
    and the last bin's edge must be 1, not that product. Levels ``i / 255`` and
    ``i / 1000`` fall on or next to many edges.
    """
    uniform = thrs[1] - thrs[0]
    assert (kernel_bins(thrs)[1] > 0) == np.array_equal(thrs, np.arange(len(thrs)) * uniform)
    edges = np.concatenate([thrs, [1.0]])
    values = np.concatenate([edges, np.nextafter(edges, -1), np.nextafter(edges, 2),
                             np.arange(256) / 255, np.arange(1001) / 1000])
    values = np.clip(values, 0, 1).astype(dtype)
    values = np.concatenate([values, np.nextafter(values, dtype(0)), np.nextafter(values, 1)])
    cam = np.resize(values, (7, len(values) // 7 + 1))
    gt = np.zeros(cam.shape, bool)
    gt[::2] = True
    fg, bg = pixel_histograms(cam, gt, None, thrs)
    rfg, rbg = reference_histograms(cam.astype(np.float64), gt, np.zeros_like(gt), thrs)
    assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)


def _blocks_redone(values: np.ndarray, step: float) -> np.ndarray:
    """Which ``CHUNK``-pixel blocks hold a score within ``r * NEAR`` of an edge ``r * step``
    (the kernel's test, in float64: close enough to tell which blocks exist)."""
    t = values.astype(np.float64) / step
    r = np.floor(t + 0.5)
    near = (np.abs(t - r) < r * _histogram_kernels.NEAR * 0.9) & (values < 1)
    chunk = _histogram_kernels.CHUNK
    return near[:len(near) // chunk * chunk].reshape(-1, chunk).any(1)


@pytest.mark.parametrize('interval', [0.01, 0.001, 0.003])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('with_ignore', [True, False])
def test_uniform_guess_and_its_exact_redo(interval, dtype, with_ignore):
    """The uniform first pass guesses each bin in float arithmetic and redoes a block of
    ``CHUNK`` pixels with the float64 compare when one score is within ``r * NEAR`` of
    an edge ``r * step``. Scores inside and outside that window (0.5x-4x of it, on both
    sides of every edge), in blocks with and without such a score, land in numpy's bins.
    """
    thrs = threshold_list(interval)
    step = thrs[1]
    rel = np.array([-4, -2, -1, -0.5, 0.5, 1, 2, 4]) * _histogram_kernels.NEAR
    near = np.clip(thrs[1:, None] * (1 + rel), 0, 1).ravel().astype(dtype)
    rng = np.random.default_rng(3)
    far = rng.random(64 * 4 * _histogram_kernels.CHUNK).astype(dtype)
    mixed = np.concatenate([far[:len(near)], near])
    rng.shuffle(mixed)
    values = np.concatenate([far, mixed, [1, 0, 1]]).astype(dtype)
    redone = _blocks_redone(values, step)
    assert redone.any() and not redone.all()
    cam = values.reshape(1, -1)
    gt = rng.random(cam.shape) < 0.3
    ignore = rng.random(cam.shape) < 0.2
    fg, bg = pixel_histograms(cam, gt, ignore if with_ignore else None, thrs)
    rfg, rbg = reference_histograms(cam.astype(np.float64), gt,
                                    ignore if with_ignore else np.zeros_like(gt), thrs)
    assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)


@pytest.mark.parametrize('interval', [0.01, 0.001, 0.003, 0.0007])
def test_doubt_window_covers_the_guess_error(interval):
    """The float32 guess ``t = s * (1 / step)`` stays within a relative 2**-23 of
    ``s / step`` (measured on every float32 within 200 ulps of each edge and on random
    scores), and the window ``r * NEAR`` is at least twice that error at ``r = 1``, its
    tightest point (``f * NEAR > 2**-23 * (f + 1)`` for every ``f >= 1``). On such scores
    the guess is only ever wrong where ``t`` rounds onto an integer, so the end-to-end
    tests cannot tell a window too narrow for the proof: this one does."""
    thrs = threshold_list(interval)
    step = float(thrs[1])
    edges = np.concatenate([thrs, [1.0]]).astype(np.float32).view(np.int32)
    near_edges = (edges[:, None] + np.arange(-200, 201, dtype=np.int32)).ravel()
    scores = np.concatenate([near_edges.view(np.float32),
                             np.random.default_rng(5).random(10 ** 6, np.float32)])
    # from half a step up (below it only the edge 1 * step is near: no subnormal scores)
    scores = scores[(scores >= step / 2) & (scores < 1)]
    t = scores * np.float32(1.0 / step)
    exact = scores.astype(np.float64) / step
    assert (np.abs(t - exact) / exact).max() <= 2.0 ** -23
    assert _histogram_kernels.NEAR >= 2 * 2 * 2.0 ** -23  # at f = 1: NEAR >= 2 * 2 * error


def test_more_thresholds_than_the_kernel_codes():
    """Beyond MAX_THRESHOLDS the codes would not fit uint16: numpy's path, the same counts."""
    rng = np.random.default_rng(3)
    k = _histogram_kernels.MAX_THRESHOLDS + 2
    thrs = np.arange(k) / k
    cam = rng.random((20, 30)).astype(np.float32)
    cam.flat[:len(thrs[::1000])] = thrs[::1000]  # on the edges
    gt, ignore = rng.random(cam.shape) < 0.4, rng.random(cam.shape) < 0.2
    fg, bg = pixel_histograms(cam, gt, ignore, thrs)
    rfg, rbg = reference_histograms(cam.astype(np.float64), gt, ignore, thrs)
    assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)
    assert fg.sum() + bg.sum() == (gt | ~ignore).sum()


@pytest.mark.parametrize('bad, message', [(np.nan, 'contains NaN'), (1.5, r'in \[0, 1\]'),
                                          (-0.25, r'in \[0, 1\]')])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('thrs', [threshold_list(0.01), _nudged(threshold_list(0.01))])
def test_bad_scores_are_refused(bad, message, dtype, thrs):
    """A NaN or a score outside [0, 1] anywhere in the map is an error, on both kernel paths."""
    cam = np.random.default_rng(4).random((9, 13)).astype(dtype)
    cam[7, 11] = bad
    with pytest.raises(ValueError, match=message):
        pixel_histograms(cam, cam > 0.5, None, thrs)


@pytest.mark.parametrize('bad', [np.nan, 1.5, -0.25])
@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('nudged', [False, True])
def test_bad_scores_are_counted_in_range(bad, dtype, nudged):
    """The uniform path counts a block before the map is refused: a NaN or out-of-range
    score must get a valid code (a NaN's float-to-int conversion gave 65535 in vector
    lanes, an increment far past the sub-histograms). Every pixel lands in a bin."""
    thrs = threshold_list(0.01)
    edges, delta = kernel_bins(_nudged(thrs) if nudged else thrs)
    nb = len(edges) - 1
    cam = np.full((9, 150), bad, dtype)  # blocks of CHUNK pixels and a rest
    cam[::2, ::3] = 0.5
    gt = np.zeros(cam.shape, bool)
    gt[:4] = True
    sub = np.zeros((_histogram_kernels.STREAMS, 2 * nb + 1), np.uint16)
    codes = np.empty(cam.size if nudged else 2 * _histogram_kernels.CHUNK, np.uint16)
    hist = np.zeros((2, nb), np.int64)
    status = _histogram_kernels.score_histograms(cam, gt, gt, False, edges, delta, sub,
                                                 codes, hist)
    assert status == (1 if np.isnan(bad) else 2)
    if not nudged:  # the edge path stops before counting
        assert hist.sum() == cam.size and hist[0].sum() == gt.sum()


@pytest.mark.parametrize('streams, interval', [(8, 0.01), (4, 0.001)])
@pytest.mark.parametrize('path', ['uniform', 'edges'])
@pytest.mark.parametrize('windows', [1, 2])
def test_uint16_sub_histograms_are_flushed(streams, interval, path, windows):
    """A uint16 sub-histogram counter would pass 65535 and wrap unless the streams are added
    into the outputs in time (one bin for every pixel is the worst case).

    Uniform thresholds: a flush every ``streams * 65535 // CHUNK`` counted blocks, the last
    one of a window possibly counted after the block loop; the rest of fewer than ``CHUNK``
    pixels joins the next window (``windows`` full windows plus ``CHUNK - 1`` pixels: some
    stream gets 65536 without the flushes). Thresholds read from memory: a flush every
    ``streams * 65535`` pixels, the pixels that the streams do not divide one to a stream
    (``streams x 65534 + streams - 1`` pixels in the last window: stream 0 alone would get
    more than 65535 were they all its own).
    """
    thrs = threshold_list(interval)
    assert (len(thrs) + 2 <= _histogram_kernels.FEW_BINS) == (streams == 8)
    chunk = _histogram_kernels.CHUNK
    if path == 'uniform':
        size = windows * (streams * 65535 // chunk * chunk) + chunk - 1
        assert -(-size // streams) > 65535
    else:
        thrs = _nudged(thrs)
        size = streams * (65535 * (windows - 1) + 65534) + streams - 1
    shape = (size, 1)
    rng = np.random.default_rng(5)
    gt = np.zeros(shape, bool)
    gt.flat[::5] = True
    for cam, gt in ((np.full(shape, 0.35, np.float32), np.zeros(shape, bool)),  # one code
                    (rng.random(shape).astype(np.float32), gt)):
        fg, bg = pixel_histograms(cam, gt, None, thrs)
        rfg, rbg = reference_histograms(cam.astype(np.float64), gt, np.zeros_like(gt), thrs)
        assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)


@pytest.mark.parametrize('interval', [0.01, 0.001])
def test_precomputed_bins(interval, monkeypatch):
    """The scorer's call (bins computed once) gives the counts of the call without them, on
    both kernel paths and on numpy's path."""
    rng = np.random.default_rng(6)
    gt, ignore = _masks(rng)
    cam = rng.random(gt.shape).astype(np.float32)
    for thrs in (threshold_list(interval), _nudged(threshold_list(interval))):
        fg, bg = pixel_histograms(cam, gt, ignore, thrs)
        fast = pixel_histograms(cam, gt, ignore, thrs, kernel_bins(thrs))
        assert np.array_equal(fast[0], fg) and np.array_equal(fast[1], bg)
        rfg, rbg = reference_histograms(cam.astype(np.float64), gt, ignore, thrs)
        assert np.array_equal(fg, rfg) and np.array_equal(bg, rbg)
        monkeypatch.setattr(pxap, '_score_histograms', None)  # numpy's path (no numba)
        slow = pixel_histograms(cam, gt, ignore, thrs, kernel_bins(thrs))
        assert slow[0].dtype == np.int64 and np.array_equal(slow[0], fg)
        assert np.array_equal(slow[1], bg)
        monkeypatch.undo()


def test_stacked_rows_and_reused_buffers(monkeypatch):
    """``stacked=True`` gives the foreground and background rows of one int64 array, on the
    kernel's and numpy's paths; maps of other sizes and bin counts scored in turn by one
    thread (its work buffers kept, regrown or reused) all give the reference counts."""
    rng = np.random.default_rng(7)
    runs = [((32, 40), 0.01), ((8, 5), 0.01), ((32, 40), 0.001), ((50, 61), 0.001),
            ((3, 4), 0.001), ((50, 61), 0.01), ((32, 40), 0.01)]
    for shape, interval in runs:
        thrs = threshold_list(interval)
        cam = rng.random(shape).astype(np.float32)
        gt = rng.random(shape) < 0.3
        ignore = rng.random(shape) < 0.2
        rfg, rbg = reference_histograms(cam.astype(np.float64), gt, ignore, thrs)
        for paths in ('kernel', 'numpy'):
            if paths == 'numpy':
                monkeypatch.setattr(pxap, '_score_histograms', None)
            hist = pixel_histograms(cam, gt, ignore, thrs, kernel_bins(thrs), stacked=True)
            assert hist.shape == (2, len(thrs) + 2) and hist.dtype == np.int64
            assert np.array_equal(hist[0], rfg) and np.array_equal(hist[1], rbg)
            fg, bg = pixel_histograms(cam, gt, None, thrs)
            nfg, nbg = reference_histograms(cam.astype(np.float64), gt, np.zeros_like(gt), thrs)
            assert np.array_equal(fg, nfg) and np.array_equal(bg, nbg)
            monkeypatch.undo()


@pytest.mark.parametrize('interval', [0.01, 0.001])
def test_compact_counts(interval, monkeypatch):
    """``compact=True`` (what the scorer stores): uint16 counts equal to the int64 ones for
    maps under 65536 pixels, up to a count of 65535 in one bin; int64 from 65536 pixels
    on; on the kernel's (both map dtypes) and numpy's paths."""
    rng = np.random.default_rng(8)
    thrs = threshold_list(interval)
    cases = [(rng.random((32, 40)), rng.random((32, 40)) < 0.3, np.uint16),
             (np.full((255, 257), 0.5), np.zeros((255, 257), bool), np.uint16),  # 65535 in a bin
             (rng.random((256, 256)), rng.random((256, 256)) < 0.5, np.int64)]
    for cam, gt, dtype in cases:
        ignore = rng.random(cam.shape) < 0.1
        for path in ('kernel', 'numpy'):
            if path == 'numpy':
                monkeypatch.setattr(pxap, '_score_histograms', None)
            for cam_dtype in (np.float32, np.float64):
                mapped = cam.astype(cam_dtype)
                rfg, rbg = reference_histograms(mapped.astype(np.float64), gt, ignore, thrs)
                hist = pixel_histograms(mapped, gt, ignore, thrs, kernel_bins(thrs),
                                        stacked=True, compact=True)
                assert hist.dtype == dtype and hist.shape == (2, len(thrs) + 2)
                assert np.array_equal(hist[0], rfg) and np.array_equal(hist[1], rbg)
            monkeypatch.undo()
    full = pixel_histograms(np.full((255, 257), 0.5), np.zeros((255, 257), bool), None, thrs,
                            compact=True)[1]
    assert full.dtype == np.uint16 and full.max() == 65535  # the largest count: no wrap


@pytest.mark.parametrize('interval', [0.01, 0.001])
def test_many_maps_equal_one_by_one(interval):
    """``pixel_histograms_many`` (a scorer's chunk) gives each map's stacked histograms:
    both map dtypes, uint16 and int64 counts, with and without ignore masks, read-only and
    Fortran-ordered maps (scored alone), more maps than a group, in order."""
    rng = np.random.default_rng(11)
    thrs = threshold_list(interval)
    cams, gts, ignores = [], [], []
    for i in range(2 * pxap.GROUP + 5):
        shape = (256, 256) if i % 7 == 3 else (24 + i, 31)  # 65536 pixels: int64 counts
        cam = rng.random(shape).astype(np.float64 if i % 5 == 1 else np.float32)
        if i == 4:
            cam = np.asfortranarray(cam)
        if i == 6:
            cam.setflags(write=False)
        cams.append(cam)
        gts.append(rng.random(shape) < 0.3)
        ignores.append(rng.random(shape) < 0.2 if i % 3 else None)
    for thresholds in (thrs, _nudged(thrs)):  # the group kernel, then one by one
        for many_ignores in (ignores, None):
            hists = pixel_histograms_many(
                zip(cams, gts, many_ignores or [None] * len(cams)), thresholds, compact=True)
            assert len(hists) == len(cams)
            for i, hist in enumerate(hists):
                ignore = None if many_ignores is None else ignores[i]
                one = pixel_histograms(cams[i], gts[i], ignore, thresholds, stacked=True,
                                       compact=True)
                assert hist.dtype == one.dtype == (np.int64 if i % 7 == 3 else np.uint16)
                assert np.array_equal(hist, one)
                rfg, rbg = reference_histograms(
                    cams[i].astype(np.float64), gts[i],
                    np.zeros_like(gts[i]) if ignore is None else ignore, thresholds)
                assert np.array_equal(hist[0], rfg) and np.array_equal(hist[1], rbg)


def test_many_maps_are_scored_a_group_per_call(monkeypatch):
    """Consecutive maps of one kind go to the kernel ``GROUP`` at a time (the GIL is
    released once per group); a map of another kind starts a new group."""
    group = pxap.GROUP
    calls = []
    kernel = pxap._score_histogram_group

    def counted(*args):
        calls.append(args[4])  # the number of maps scored
        return kernel(*args)

    monkeypatch.setattr(pxap, '_score_histogram_group', counted)
    rng = np.random.default_rng(12)
    cams = [rng.random((20, 30)).astype(np.float32) for _ in range(2 * group + 3)]
    cams[group + 1] = cams[group + 1].astype(np.float64)
    gts = [cam > 0.6 for cam in cams]
    hists = pixel_histograms_many(((cam, gt, None) for cam, gt in zip(cams, gts)),
                                  threshold_list(0.01), compact=True)
    assert calls == [group, 1, 1, group, 1]
    for cam, gt, hist in zip(cams, gts, hists):
        assert np.array_equal(hist, pixel_histograms(cam, gt, None, threshold_list(0.01),
                                                     stacked=True, compact=True))


@pytest.mark.parametrize('bad, message', [(np.nan, 'contains NaN'), (1.5, r'in \[0, 1\]')])
def test_many_maps_refuse_a_bad_map(bad, message):
    """A bad map in the middle of a group raises the message of that map; a mask of another
    shape than its map is named."""
    rng = np.random.default_rng(13)
    cams = [rng.random((10, 12)) for _ in range(5)]
    cams[3][4, 5] = bad
    gts = [cam > 0.5 for cam in cams]
    with pytest.raises(ValueError, match=message):
        pixel_histograms_many([(cam, gt, None) for cam, gt in zip(cams, gts)],
                              threshold_list(0.01))
    cams[3][4, 5] = 0.5
    ignores = [None, None, np.zeros((12, 10), bool), None, None]
    with pytest.raises(ValueError, match=r'ignore_mask shape \(12, 10\) differs'):
        pixel_histograms_many(zip(cams, gts, ignores), threshold_list(0.01))
    with pytest.raises(ValueError, match='ignore_mask shape'):
        pixel_histograms(cams[2], gts[2], ignores[2], threshold_list(0.01))
