"""Box maths: spec section 8 vectors, quirks, and fast path == OpenCV reference."""
import numpy as np
import pytest
from eval_test_utils import KINDS, random_boxes, random_map

from wsol_mm.evaluation.functional import (
    best_ious_at_thresholds,
    box_iou,
    box_record,
    quantize_cam,
    reference_best_ious,
    reference_boxes,
    rescale_boxes,
    scan_cutoffs,
    threshold_list,
)
from wsol_mm.evaluation.functional._hole_scan_kernels import _background_runs, _hole_pass
from wsol_mm.evaluation.functional._union_find_kernels import HOLES, sort_pixels
from wsol_mm.evaluation.functional.cutoff_scan import _workspace

UNIMODAL = np.array([[0, 0, 0, 0, 0], [0, .4, .4, .4, .6], [0, .4, 1, .8, .6],
                     [0, .4, .4, .4, .6]])
MULTIMODAL = np.array([[.4, 0, .2, .2, .2], [.4, .4, 0, .4, 0], [0, 0, 0, .4, 0],
                       [1, .6, .8, .2, .2]])
THRS = [0, .2, .4, .6, .8]


def test_iou_vectors():
    assert box_iou([[1, 2, 5, 6]], [[3, 1, 4, 5]])[0, 0] == pytest.approx(8 / 27)
    assert box_iou([[0, 0, 0, 0]], [[0, 0, 0, 0]])[0, 0] == 1.0
    with pytest.raises(RuntimeError):
        box_iou([[3, 0, 1, 2]], [[0, 0, 1, 1]])


def test_rescale_truncates():
    assert rescale_boxes([[1, 2, 4, 3]], (10, 20), (35, 10)).tolist() == [[3, 1, 14, 1]]


@pytest.mark.parametrize('cam,expected', [
    (UNIMODAL, [(1, 1, 4, 3), (1, 1, 4, 3), (2, 1, 4, 3), (2, 2, 4, 3), (2, 2, 3, 3)]),
    (MULTIMODAL, [(0, 0, 4, 3), (0, 0, 2, 2), (0, 3, 3, 3), (2, 3, 3, 3), (0, 3, 1, 3)]),
])
def test_v1_boxes_of_spec(cam, expected):
    boxes = reference_boxes(cam, THRS, multi_contour=False)
    assert [tuple(b[0]) for b in boxes] == expected
    # the fast path scores exactly these boxes
    gt = np.array([[1., 1., 3., 2.], [0., 2., 4., 3.]])
    fast = best_ious_at_thresholds(cam, gt, THRS, multi_contour=False)[0]
    ref = [box_iou(np.array([e]), gt).max() for e in expected]
    assert fast.tolist() == ref


def test_all_zero_and_nan_maps():
    cam = np.zeros((6, 7))
    assert all(b.tolist() == [[0, 0, 0, 0]] for b in reference_boxes(cam, THRS, True))
    ious, _ = best_ious_at_thresholds(cam, np.array([[0., 0., 1., 1.]]), THRS, True)
    assert ious.tolist() == [0.25] * 5  # (0,0,0,0) is one pixel under the +1 convention
    with pytest.raises(ValueError):
        quantize_cam(np.full((4, 4), np.nan))


def test_quirks():
    cam = np.zeros((10, 12))
    cam[2:5, 3:7] = 1.0
    # +1 right/bottom edge: pixels x 3..6, y 2..4 -> box (3, 2, 7, 5)
    assert reference_boxes(cam, [0.5], True)[0].tolist() == [[3, 2, 7, 5]]
    cam[:, -1] = 1.0  # border: x1 clipped to W-1
    assert [11, 0, 11, 9] in reference_boxes(cam, [0.5], True)[0].tolist()
    # quantisation is floor(255 s) and the cut is strict: s = 0.5 -> 127 > int(0.498*255)=126
    cam = np.full((3, 3), 0.5)
    cam[0, 0] = 1.0
    assert len(reference_boxes(cam, [0.499], True)[0]) == 1
    assert reference_boxes(cam, [0.5], True)[0].tolist() == [[0, 0, 1, 1]]


def test_hole_contour_boxes_count_in_v2():
    cam = np.ones((9, 9))
    cam[3:6, 3:6] = 0  # ring: the hole contour's box is the hole grown by one pixel
    boxes = reference_boxes(cam, [0.5], True)[0].tolist()
    assert boxes == [[0, 0, 8, 8], [2, 2, 7, 7]]  # + the (x+w, y+h) quirk
    gt = np.array([[2., 2., 7., 7.]])
    assert best_ious_at_thresholds(cam, gt, [0.5], True)[0][0] == 1.0
    assert best_ious_at_thresholds(cam, gt, [0.5], False)[0][0] < 1.0


def test_threshold_list_is_arange():
    assert np.array_equal(threshold_list(0.001), np.arange(0, 1, 0.001))
    assert threshold_list(0.01)[35] == np.arange(0, 1, 0.01)[35]


@pytest.mark.parametrize('multi_contour', [True, False])
def test_fast_equals_opencv_on_random_maps(multi_contour):
    rng = np.random.default_rng(123 + multi_contour)
    for i in range(240):
        cam = random_map(rng, KINDS[i % len(KINDS)])
        gt = random_boxes(rng, *cam.shape)
        interval = 0.01 if i % 2 else 0.001
        thrs = threshold_list(interval)[::1 if interval == 0.01 else 7]
        fast = best_ious_at_thresholds(cam, gt, thrs, multi_contour)
        ref = reference_best_ious(cam, gt, thrs, multi_contour)
        assert np.array_equal(fast[0], ref[0]), (i, cam.shape)
        assert np.array_equal(fast[1], ref[1]), (i, cam.shape)


def test_opencv_fallback_path_matches():
    rng = np.random.default_rng(5)
    cam = random_map(rng, 'ring')
    gt = random_boxes(rng, *cam.shape)
    for mc in (True, False):
        a = scan_cutoffs(cam, gt, mc)[0]
        b = scan_cutoffs(cam, gt, mc, use_numba=False)[0]
        assert np.array_equal(a, b)


def _nested_rings(rng: np.random.Generator) -> np.ndarray:
    """Concentric rings (islands inside holes) plus noise: nesting and many holes."""
    h, w = (int(v) for v in rng.integers(12, 40, size=2))
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h * rng.uniform(0.3, 0.7), xx - w * rng.uniform(0.3, 0.7))
    m = 0.5 + 0.5 * np.cos(r * rng.uniform(0.8, 2.0)) + rng.uniform(0, 0.6) * rng.random((h, w))
    return (m - m.min()) / (m.max() - m.min())


@pytest.mark.parametrize('multi_contour', [True, False])
def test_every_cutoff_equals_opencv(multi_contour):
    """All 256 cut-offs (the box_record path): the kernel's hole bounds and v1 decisions."""
    rng = np.random.default_rng(7 + multi_contour)
    for i in range(160):
        cam = _nested_rings(rng) if i % 5 == 0 else random_map(rng, KINDS[i % len(KINDS)])
        gt = random_boxes(rng, *cam.shape)
        fast = scan_cutoffs(cam, gt, multi_contour)
        ref = scan_cutoffs(cam, gt, multi_contour, use_numba=False)
        assert np.array_equal(fast[0], ref[0]), i
        assert np.array_equal(fast[1], ref[1]), i


def test_v1_holed_component_goes_to_opencv():
    """A thin ring (small pixel area, large contour area) beats a solid block in v1."""
    cam = np.zeros((12, 20))
    cam[1:8, 1:8] = 1.0
    cam[2:7, 2:7] = 0.0  # 7x7 ring: contourArea 36
    cam[2:7, 12:17] = 1.0  # 5x5 block: contourArea 16, but more 2x2 windows than the ring
    gt = np.array([[1., 1., 8., 8.]])
    assert best_ious_at_thresholds(cam, gt, [0.5], False)[0][0] == 1.0  # box (1, 1, 8, 8)
    ref = reference_best_ious(cam, gt, [0.5], False)[0][0]
    assert ref == 1.0


def test_large_hole_beats_outer_box_small_hole_does_not():
    cam = np.ones((30, 30))
    cam[5:25, 5:25] = 0.0  # a large hole: its box (4, 4, 26, 26) matches the GT
    cam[2, 2] = 0.0  # and a one-pixel hole that cannot matter
    gt = np.array([[4., 4., 26., 26.]])
    thrs = threshold_list(0.01)
    fast = best_ious_at_thresholds(cam, gt, thrs, True)
    assert np.array_equal(fast[0], reference_best_ious(cam, gt, thrs, True)[0])
    assert fast[0][50] == 1.0


def _hole_box_best_iou(u: np.ndarray, cutoff: int, gt: np.ndarray) -> float:
    """Best IoU of OpenCV's hole-contour boxes of ``u > cutoff`` (-1.0 without holes)."""
    import cv2
    _, mask = cv2.threshold(u, cutoff, 255, cv2.THRESH_BINARY)
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)[-2:]
    h, w = u.shape
    boxes = []
    for contour, (_, _, _, parent) in zip(contours, [] if hierarchy is None else hierarchy[0]):
        if parent >= 0:  # second level of RETR_CCOMP: a hole's contour
            x, y, bw, bh = cv2.boundingRect(contour)
            boxes.append((x, y, min(x + bw, w - 1), min(y + bh, h - 1)))
    return float(box_iou(np.array(boxes), gt).max()) if boxes else -1.0


@pytest.mark.parametrize('levels', [False, True])
def test_sort_pixels_is_a_stable_counting_sort(levels):
    """``sort_pixels`` (its rows cut into bands, see SORT_BANDS): the pixels of each value
    in raster order, value after value, each entry with its neighbour masks (the hole
    masks 0 unless asked for), for heights below, at and past the band count and not
    multiples of it, and plateaus (long runs of one value, where the bands' write
    positions matter most)."""
    from wsol_mm.evaluation.functional._union_find_kernels import SORT_BANDS
    rng = np.random.default_rng(21)
    shapes = [(h, w) for h in range(1, 2 * SORT_BANDS + 3) for w in (1, 2, 5)]
    shapes += [(224, 224), (97, 31), (3 * SORT_BANDS + 1, 64)]
    for i, (h, w) in enumerate(shapes):
        cam = rng.random((h, w))
        if i % 2:
            cam = np.floor(cam * 3) / 3  # plateaus
        q = quantize_cam(cam)
        work = _workspace(h, w)
        u, order, starts, pad = work[:4]
        entries = {}
        for holes in (True, False):
            if levels:
                u[:] = q
            assert sort_pixels(cam, levels, u, order, starts, pad, holes) == 0
            assert np.array_equal(u, q)
            assert np.array_equal(starts, np.concatenate([[0], np.cumsum(np.bincount(
                q.ravel(), minlength=256))]))
            entries[holes] = order[:h * w].copy()
        e = entries[True]
        raster = (e >> 40) * w + ((e >> 16) & 0xFFFFFF)
        assert np.array_equal(raster, np.argsort(q.ravel(), kind='stable')), (h, w)
        # every bit against the rule: a neighbour is in if higher (foreground) / lower
        # (holes), or equal and before in raster order; the padding (-1) never
        # foreground, always outside
        ys, xs = raster // w + 1, raster % w + 1
        p = np.pad(q.astype(np.int16), 1, constant_values=-1)
        v = p[ys, xs]
        ring = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]
        holes_ring = [(-1, 0), (0, -1), (0, 1), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1)]
        want = np.zeros(len(e), np.int64)
        for bit, (dy, dx) in enumerate(ring + holes_ring):
            n = p[ys + dy, xs + dx]
            before = dy < 0 or (dy == 0 and dx < 0)
            if bit < 8:
                on = (n >= v) if before else (n > v)
            else:
                on = (n <= v) if before else (n < v)
            want |= on.astype(np.int64) << bit
        assert np.array_equal(e & 0xFFFF, want), (h, w)
        assert np.array_equal(entries[False], e & ~np.int64(0xFF00)), (h, w)


def test_hole_pass_alone_equals_opencv_holes():
    """The hole pass run at every cut-off (not only where the bounds send it): the best
    hole-contour box of each cut-off, against OpenCV's. Merges it misses (the diagonal
    groups of its neighbour table) split holes and change boxes here, while the
    end-to-end tests see them only where a hole box wins."""
    rng = np.random.default_rng(3)
    for i in range(120):
        cam = _nested_rings(rng) if i % 3 == 0 else random_map(rng, KINDS[i % len(KINDS)])
        gt = np.ascontiguousarray(random_boxes(rng, *cam.shape), np.float64)
        work = _workspace(*cam.shape)
        u, order, starts = work[:3]
        u[:] = quantize_cam(cam)
        assert sort_pixels(cam, True, u, order, starts, work[3], True) == 0
        wanted = np.ones(256, np.bool_)
        ious, gidx = np.full(256, -1.0), np.zeros(256, np.int64)
        status = np.full(256, HOLES, np.int8)
        _hole_pass(gt, wanted, u, order, starts, *work[4:], ious, gidx, status)
        expected = [_hole_box_best_iou(u, t, gt) for t in range(255)]
        assert ious[:255].tolist() == expected, i
        # flagged from a later cut-off on (labelled by runs there), with gaps
        first = int(rng.integers(0, int(u.max()) + 1))
        flagged = np.zeros(256, np.bool_)
        flagged[first:255] = rng.random(255 - first) < 0.5
        flagged[min(first, 254)] = True
        ious, gidx = np.full(256, -1.0), np.zeros(256, np.int64)
        status = np.where(flagged, HOLES, 0).astype(np.int8)
        _hole_pass(gt, wanted, u, order, starts, *work[4:], ious, gidx, status)
        assert ious[:255].tolist() == [expected[t] if flagged[t] else -1.0
                                       for t in range(255)], (i, first)
        assert not (status == HOLES).any()


def test_background_runs_label_like_opencv():
    """The run labelling that starts the hole pass: the 4-connected components of the
    background ``u <= level`` (OpenCV's), the outside being those that reach the border;
    every other root is live, with its component's box."""
    import cv2
    rng = np.random.default_rng(8)
    for i in range(80):
        h = int(rng.integers(1, 30))
        w = int(rng.choice([1, 2, 7, 63, 64, 65, 129, 150]))
        if i % 2:
            u = rng.integers(0, 4, (h, w)).astype(np.uint8)
        else:
            u = quantize_cam(random_map(rng, 'ring' if i % 4 else 'multi'))
            h, w = u.shape
        level = np.uint8(rng.integers(0, int(u.max()) + 1))
        work = _workspace(h, w)
        lab, parent, rec, live = work[4], work[5], work[6], work[9]
        parent[0], rec[0, :4] = 0, (-1, -1, w, h)  # the outside, as the hole pass sets it
        n, n_live = _background_runs(u, level, lab, parent, rec, live)
        bg = u <= level
        _, cc = cv2.connectedComponents(np.pad(bg, 1, constant_values=1).astype(np.uint8),
                                        connectivity=4)
        outside, cc = cc[0, 0], cc[1:-1, 1:-1]

        def root(s):
            while parent[s] != s:
                s = parent[s]
            return s
        ys, xs = np.nonzero(bg)
        roots = np.array([root(lab[(y + 1) * (w + 2) + x + 1]) for y, x in zip(ys, xs)], int)
        pairs = set(zip(roots.tolist(), cc[ys, xs].tolist()))
        assert len(pairs) == len(set(roots.tolist())) == len(set(cc[ys, xs].tolist())), i
        assert all((r == 0) == (c == outside) for r, c in pairs), i
        holes = {r for r, c in pairs if r != 0}
        assert sorted(live[:n_live].tolist()) == sorted(holes), i
        assert [s for s in range(1, n) if parent[s] == s] == sorted(holes), i
        for r, c in pairs:
            if r:
                hy, hx = np.nonzero(cc == c)
                assert rec[r, :4].tolist() == [hx.min(), hy.min(), hx.max(), hy.max()], i
                assert rec[r, 5] == live[:n_live].tolist().index(r)  # _POS


@pytest.mark.parametrize('multi_contour', [True, False])
def test_iou_floors_keep_every_bit(multi_contour):
    """With IoU floors (box_record's bits) holes and undecided v1 cut-offs are skipped
    only where they cannot change which floors are reached."""
    rng = np.random.default_rng(11 + multi_contour)
    floors = np.array([0.3, 0.5, 0.7])
    for i in range(100):
        cam = _nested_rings(rng) if i % 4 == 0 else random_map(rng, KINDS[i % len(KINDS)])
        gt = random_boxes(rng, *cam.shape)
        exact = scan_cutoffs(cam, gt, multi_contour, use_numba=False)[0]
        fast = scan_cutoffs(cam, gt, multi_contour, iou_floors=floors)[0]
        assert np.array_equal(exact[:, None] >= floors, fast[:, None] >= floors), i



@pytest.mark.parametrize('iou_thrs', [(50, ), (30, 50, 70), (70, 30, 50), (50, 50, 10),
                                      (90, 10, 40, 40, 70)])
def test_record_bits_follow_the_iou_thresholds_order(iou_thrs):
    """Bit i of a record is IoU >= iou_thrs[i] / 100, whatever their order and repeats."""
    rng = np.random.default_rng(5)
    for i in range(20):
        cam = random_map(rng, KINDS[i % len(KINDS)])
        gt = random_boxes(rng, *cam.shape)
        for multi in (False, True):
            ious = scan_cutoffs(cam, gt, multi)[0]
            expected = np.zeros(256, np.uint8)
            for bit, thr in enumerate(iou_thrs):
                expected |= (ious >= thr / 100).astype(np.uint8) << bit
            assert np.array_equal(box_record(cam, gt, multi, iou_thrs)['correct'], expected)


@pytest.mark.parametrize('use_numba', [True, False])
@pytest.mark.parametrize('boxes,message', [
    ([[-1, 0, 3, 3]], 'non-negative'), ([[0, 0, 3, 3], [3, 0, 1, 2]], 'x0<=x1'),
    ([[0, 3, 3, 1]], 'y0<=y1'), ([[0, np.nan, 3, 3]], 'NaN')])
def test_bad_gt_boxes_are_named(boxes, message, use_numba):
    """The compiled scan checks the GT boxes; the message is check_box_convention's."""
    cam = np.random.default_rng(0).random((8, 8))
    for multi in (False, True):
        with pytest.raises(RuntimeError, match=message):
            scan_cutoffs(cam, np.array(boxes, np.float64), multi, use_numba=use_numba)
        with pytest.raises(RuntimeError, match=message):
            box_record(cam, boxes, multi, (50, ), use_numba=use_numba)

@pytest.mark.parametrize('caller,callees', [
    ('_hole_scan_kernels', ['_union_find_kernels']),
    ('_tail_bound_kernels', ['_union_find_kernels']),
    ('_cutoff_scan_kernels', ['_union_find_kernels', '_hole_scan_kernels',
                              '_tail_bound_kernels'])])
def test_kernel_cache_follows_callees(caller, callees):
    """numba's cache key is the caller's file only: a callee change must edit the caller.

    If this fails, set ``CALLEES_DIGEST`` in the caller to the value printed (that edit is
    what makes numba recompile the caller).
    """
    import hashlib
    import importlib
    import os.path as osp
    package = 'wsol_mm.evaluation.functional'
    digest = hashlib.sha256()
    for name in callees:
        with open(osp.splitext(importlib.import_module(f'{package}.{name}').__file__)[0]
                  + '.py', 'rb') as f:
            digest.update(f.read())
    expected = digest.hexdigest()[:16]
    assert importlib.import_module(f'{package}.{caller}').CALLEES_DIGEST == expected, expected
