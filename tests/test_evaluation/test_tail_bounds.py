"""The foreground pass stops once the lowest cut-offs are settled: bounds and exactness.

v1 stops when one component's box is the whole map and it holds more than half of it
(``_v1_final``); V2 when a whole-map component exists and no group of background blocks,
with the components around it, can reach the IoU that matters (``_tail_bound_kernels``).
The end-to-end checks use maps on which the stop happens, and check that it does.
"""
import cv2
import numpy as np
import pytest
from eval_test_utils import random_boxes

from wsol_mm.evaluation.functional import scan_cutoffs
from wsol_mm.evaluation.functional._cutoff_scan_kernels import _foreground_pass
from wsol_mm.evaluation.functional._tail_bound_kernels import (
    _row_runs,
    block_minima,
    tail_settled,
    tail_setup,
)
from wsol_mm.evaluation.functional._union_find_kernels import _row_words, sort_pixels
from wsol_mm.evaluation.functional.cutoff_scan import _workspace

FLOOR_SETS = ((0.3, 0.5, 0.7), (0.5, ), (0.05, 0.15))


def test_block_minima_equals_numpy():
    rng = np.random.default_rng(0)
    for h, w in ((1, 1), (3, 5), (4, 4), (9, 13), (224, 224), (17, 230)):
        u = rng.integers(0, 256, (h, w), dtype=np.uint8)
        bmin = np.empty(((h + 3) // 4, (w + 3) // 4), np.uint8)
        block_minima(u, np.empty(w, np.uint8), bmin)
        padded = np.full((bmin.shape[0] * 4, bmin.shape[1] * 4), 255, np.uint8)
        padded[:h, :w] = u
        expected = padded.reshape(bmin.shape[0], 4, bmin.shape[1], 4).min(axis=(1, 3))
        assert np.array_equal(bmin, expected), (h, w)



def test_row_words_equal_numpy():
    """``row <= level`` as 64-bit words, whatever the flags buffer held before."""
    rng = np.random.default_rng(2)
    for width in (1, 7, 8, 9, 63, 64, 65, 128, 200, 224):
        n_words = (width + 63) >> 6
        flags = np.full(n_words * 8, np.iinfo(np.uint64).max, np.uint64)
        words = np.full(n_words + 1, 7, np.uint64)
        for _ in range(10):
            rows = rng.integers(0, 256, (3, width)).astype(np.uint8)
            row = rows[1]
            level = np.uint8(rng.integers(0, 256))
            _row_words(rows, 1, level, flags, flags.view(np.uint8), words)
            bits = np.zeros(n_words * 64, bool)
            bits[:width] = row <= level
            expected = [int(''.join('1' if b else '0' for b in bits[64 * k:64 * k + 64][::-1]), 2)
                        for k in range(n_words)]
            assert words.tolist() == expected + [7], (width, level)  # the spare word kept


def test_row_runs_equal_numpy():
    """Runs of background blocks read 64 blocks at a time, across word boundaries."""
    rng = np.random.default_rng(1)
    for width in (1, 2, 63, 64, 65, 127, 128, 129, 200):
        for _ in range(30):
            row = rng.integers(0, 256, width).astype(np.uint8)
            if rng.random() < 0.5:  # long runs, some across a word boundary
                row = np.repeat(row[:max(1, width // 20)], 20)[:width]
                row = np.pad(row, (0, width - len(row)), constant_values=255)
            level = np.uint8(rng.integers(0, 256))
            bg = np.concatenate([[0], (row <= level).astype(np.int8), [0]])
            edges = np.diff(bg)
            expected = np.stack([np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1])
            rx0, rx1 = np.full(width + 3, -7), np.full(width + 3, -7)
            parent, ext = np.full(width + 3, -7, np.int32), np.full((width + 3, 4), -7)
            h, w = 4 * 3 - 2, 4 * width - 1  # block row 2 of a map cut at both far sides
            n_words = (width + 63) >> 6  # _row_words' buffers, the flags full of garbage
            flags = np.full(n_words * 8, np.iinfo(np.uint64).max, np.uint64)
            words = np.zeros(n_words + 1, np.uint64)
            rows = np.stack([row[::-1], 255 - row, row])  # block row 2 is the row
            n = _row_runs(rows, level, 2, h, w, rx0, rx1, parent, ext, 2, flags,
                          flags.view(np.uint8), words)  # after 2 runs
            assert n - 2 == expected.shape[1], (width, row, level)
            assert np.array_equal(rx0[2:n], expected[0]) and np.array_equal(rx1[2:n], expected[1])
            assert np.array_equal(parent[2:n], np.arange(2, n))
            assert np.array_equal(ext[2:n], np.stack(
                [4 * expected[0], np.full(n - 2, 8), np.minimum(4 * expected[1] + 3, w - 1),
                 np.full(n - 2, h - 1)], axis=1))
            for a in (rx0, rx1, parent, ext):  # nothing written outside the new runs
                assert (a[:2] == -7).all() and (a[n:] == -7).all()

def _settled(background, gt, target, others=()):
    """``tail_settled`` on a 32 x 32 map: background blocks at minimum 5 (the rest 255),
    component 0 with the whole map as its box, and ``others`` as further live boxes."""
    bmin = np.full((8, 8), 255, np.uint8)
    for by, bx in background:
        bmin[by, bx] = 5
    boxes = [(0, 0, 31, 31)] + list(others)
    rec = np.zeros((len(boxes), 8), np.int32)
    rec[:, :4] = boxes
    live = np.arange(len(boxes), dtype=np.int32)
    return tail_settled(10, 0, bmin, np.array([gt], np.float64), target, rec, live, len(boxes),
                        32, 32)


def test_tail_bound_cases():
    # one background block far from the GT box: nothing outside the component can reach it
    assert _settled([(0, 0)], (20, 20, 31, 31), 0.3)
    # the block's pixels 0..3, grown as a hole box (-1, +2), cover most of this GT box
    assert not _settled([(0, 0)], (0, 0, 4, 4), 0.5)
    # just right of the block: only the far-side growth (a hole box's x + w) reaches it
    assert not _settled([(0, 0)], (4, 0, 5, 3), 0.9)
    # diagonal blocks are one 8-connected group: apart each stays below 0.6, together not
    assert not _settled([(0, 0), (1, 1)], (0, 0, 7, 7), 0.6)
    assert not _settled([(0, 1), (1, 0)], (0, 0, 7, 7), 0.6)
    # a bound exactly at the target reaches it (an IoU equal to a floor counts)
    assert not _settled([(0, 0)], (0, 0, 11, 5), 0.5)
    # two groups apart (blocks x 0-3 and 8-11) stay below 0.7 ...
    assert _settled([(0, 0), (0, 2)], (0, 0, 11, 3), 0.7)
    # ... but a live component between them (x 4..7) joins them into one object's room
    assert not _settled([(0, 0), (0, 2)], (0, 0, 11, 3), 0.7, others=[(4, 0, 7, 3)])
    # above every floor nothing can change
    assert _settled([(0, 0)], (0, 0, 4, 4), 2.0)



def _settled_reference(t, bmin, gts, target, boxes, h, w):
    """``tail_settled`` spelled out with OpenCV: 8-connected groups of background blocks,
    joined through the live boxes (all but the first, the whole-map component)."""
    if target > 1.0:
        return True
    n, labels = cv2.connectedComponents((bmin <= t).astype(np.uint8), connectivity=8)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i
    ext = {}
    for lab in range(1, n):
        ys, xs = np.nonzero(labels == lab)
        ext[lab] = [xs.min() * 4, ys.min() * 4, min(xs.max() * 4 + 3, w - 1),
                    min(ys.max() * 4 + 3, h - 1)]
    for x0, y0, x1, y1 in boxes[1:]:
        ring = labels[max(y0 - 1, 0) // 4:min(y1 + 1, h - 1) // 4 + 1,
                      max(x0 - 1, 0) // 4:min(x1 + 1, w - 1) // 4 + 1]
        roots = sorted({find(lab) for lab in ring[ring > 0]})
        if not roots:
            return False
        for r in roots[1:]:
            parent[r] = roots[0]
            e, f = ext[roots[0]], ext[r]
            ext[roots[0]] = [min(e[0], f[0]), min(e[1], f[1]), max(e[2], f[2]), max(e[3], f[3])]
        e = ext[roots[0]]
        ext[roots[0]] = [min(e[0], x0), min(e[1], y0), max(e[2], x1), max(e[3], y1)]
    for lab in range(1, n):
        if find(lab) != lab:
            continue
        x0, y0, x1, y1 = ext[lab][0] - 1, ext[lab][1] - 1, ext[lab][2] + 2, ext[lab][3] + 2
        for gx0, gy0, gx1, gy1 in gts:
            iw = max(0.0, min(x1, gx1) - max(x0, gx0) + 1.0)
            ih = max(0.0, min(y1, gy1) - max(y0, gy0) + 1.0)
            if iw * ih >= (target - 1e-9) * (gx1 - gx0 + 1.0) * (gy1 - gy0 + 1.0):
                return False
    return True


def test_tail_settled_matches_reference():
    """Random block grids, up to 140 blocks wide: runs are read from the rows' bits 64
    blocks at a time, and runs that cross a word boundary must stay one run."""
    rng = np.random.default_rng(3)
    outcomes = []
    for gh, gw in ((8, 8), (5, 63), (6, 64), (6, 65), (4, 100), (3, 128), (4, 129), (2, 140)):
        for _ in range(40):
            h, w = 4 * gh - int(rng.integers(0, 4)), 4 * gw - int(rng.integers(0, 4))
            coarse = rng.integers(0, 256, (max(1, gh // 2), max(1, gw // 8)))
            bmin = cv2.resize(coarse.astype(np.uint8), (gw, gh), interpolation=cv2.INTER_NEAREST)
            bmin = np.minimum(bmin, rng.integers(0, 256, (gh, gw))).astype(np.uint8)
            t = int(rng.integers(0, 255))
            boxes = [(0, 0, w - 1, h - 1)]
            for _ in range(int(rng.integers(0, 5))):
                x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
                boxes.append((x0, y0, int(rng.integers(x0, w)), int(rng.integers(y0, h))))
            gts = random_boxes(rng, h, w)
            target = float(rng.choice([0.1, 0.3, 0.5, 0.7, 2.0]))
            rec = np.zeros((len(boxes), 8), np.int32)
            rec[:, :4] = boxes
            got = tail_settled(t, 0, bmin, gts, target, rec, np.arange(len(boxes), dtype=np.int32),
                               len(boxes), h, w)
            expected = _settled_reference(t, bmin, gts, target, boxes, h, w)
            assert got == expected, (gh, gw, t, boxes, gts, target)
            outcomes.append(got)
    assert 0.2 < np.mean(outcomes) < 0.8  # both answers are exercised

def _blob_map(rng, h, w):
    """A CAM-like map: low-resolution blobs over a low background, with pixel noise."""
    gh, gw = max(2, h // 8), max(2, w // 8)
    low = rng.uniform(0, 0.4) * rng.random((gh, gw))
    yy, xx = np.mgrid[:gh, :gw]
    boxes = []
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0, gh), rng.uniform(0, gw)
        sy, sx = rng.uniform(0.5, gh / 3 + 0.5), rng.uniform(0.5, gw / 3 + 0.5)
        low = low + rng.uniform(0.5, 1) * np.exp(-((yy - cy) / sy) ** 2 - ((xx - cx) / sx) ** 2)
        x0, x1 = (np.clip([cx - 1.5 * sx, cx + 1.5 * sx], 0, gw - 1e-6) * w / gw).astype(int)
        y0, y1 = (np.clip([cy - 1.5 * sy, cy + 1.5 * sy], 0, gh - 1e-6) * h / gh).astype(int)
        boxes.append((x0, y0, x1, y1))
    cam = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    cam = cam + rng.uniform(0, 0.05) * rng.random((h, w))
    if rng.random() < 0.3:  # high frame: a whole-map component at high cut-offs already
        cam[[0, -1], :] = cam.max()
        cam[:, [0, -1]] = cam.max()
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    gts = np.array(boxes, np.float64)
    if rng.random() < 0.5:
        gts = np.concatenate([gts, random_boxes(rng, h, w)])
    return cam, gts


def _shape_map(rng, h, w):
    """A high U, cross or three-sided band (its box the whole map, its area small) with
    blobs at middle values in the room it leaves, over a low background."""
    cam = 0.2 * rng.random((h, w))
    th = int(rng.integers(1, max(2, min(h, w) // 5)))
    top = rng.uniform(0.9, 1.0)
    kind = rng.integers(0, 3)
    if kind == 0:  # U: left, right and bottom sides
        cam[:, :th] = cam[:, -th:] = cam[-th:, :] = top
    elif kind == 1:  # cross through the middle
        cam[h // 2 - th // 2:h // 2 - th // 2 + th, :] = top
        cam[:, w // 2 - th // 2:w // 2 - th // 2 + th] = top
    else:  # band along the top, down the left, and along the bottom
        cam[:th, :] = cam[:, :th] = cam[-th:, :] = top
    yy, xx = np.mgrid[:h, :w]
    boxes = []
    for _ in range(int(rng.integers(1, 3))):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sy, sx = rng.uniform(1, h / 3), rng.uniform(1, w / 3)
        blob = rng.uniform(0.4, 0.85) * np.exp(-((yy - cy) / sy) ** 2 - ((xx - cx) / sx) ** 2)
        cam = np.maximum(cam, blob)
        boxes.append((max(0, int(cx - sx)), max(0, int(cy - sy)), min(w - 1, int(cx + sx)),
                      min(h - 1, int(cy + sy))))
    cam = cam + 0.01 * rng.random((h, w))
    gts = np.array(boxes, np.float64)
    if rng.random() < 0.5:
        gts = np.concatenate([random_boxes(rng, h, w), gts])
    return cam / cam.max(), gts


def _stop(cam, gts, multi, floors):
    """Cut-off at which the foreground pass stops early for this map (-1: none)."""
    work = _workspace(*cam.shape)
    u, order, starts, pad, lab, parent, rec, shp, iou, live = work
    assert sort_pixels(cam, False, u, order, starts, pad, multi) == 0
    floors = np.sort(np.asarray(floors, np.float64))
    bmin, target = tail_setup(u, gts, floors, multi)
    return _foreground_pass(
        gts, np.ones(256, np.bool_), multi, True, np.zeros(4), floors, u.shape, order, starts,
        lab, parent, rec, shp, iou, live, np.full(256, -1.0), np.zeros(256, np.int64),
        np.zeros(256, np.int8), bmin, target)


@pytest.mark.parametrize('multi', [False, True])
def test_early_stop_is_exact(multi):
    """Every cut-off, stopped early or not, against OpenCV: IoUs and GT indices without
    floors, which floors they reach with them; and the stop does happen."""
    rng = np.random.default_rng(14 + multi)
    stops = 0
    for i in range(160):
        make = _shape_map if i % 2 else _blob_map
        cam, gts = make(rng, int(rng.integers(12, 72)), int(rng.integers(12, 72)))
        ref_iou, ref_gt = scan_cutoffs(cam, gts, multi, use_numba=False)
        exact_iou, exact_gt = scan_cutoffs(cam, gts, multi)
        assert np.array_equal(exact_iou, ref_iou) and np.array_equal(exact_gt, ref_gt), i
        for floors in FLOOR_SETS:
            fast = scan_cutoffs(cam, gts, multi, iou_floors=floors)[0]
            fl = np.asarray(floors)
            assert np.array_equal(fast[:, None] >= fl, ref_iou[:, None] >= fl), (i, floors)
            stops += _stop(cam, gts, multi, floors) >= 0
    assert stops >= 0.3 * 160 * len(FLOOR_SETS), stops  # the maps exercise the stop


def test_v1_stop_needs_more_than_half_the_map():
    """A U (its box the whole map) holding 40 % of the map, then a larger square inside it:
    v1 may not stop at the U, whose contour the square's outgrows at lower cut-offs."""
    cam = np.full((40, 40), 0.1)
    cam[:, :6] = cam[:, -6:] = cam[-6:, :] = 1.0
    cam[0:32, 8:32] = 0.6
    gts = np.array([[8., 0., 31., 31.], [0., 0., 39., 39.]])
    assert _stop(cam, gts, False, ()) < 0.6 * 255 - 1  # not before the square joins the U
    for floors in (None, (0.5, )):
        fast = scan_cutoffs(cam, gts, False, iou_floors=floors)
        ref = scan_cutoffs(cam, gts, False, use_numba=False)
        assert np.array_equal(fast[0] >= 0.5, ref[0] >= 0.5)
        if floors is None:
            assert np.array_equal(fast[0], ref[0]) and np.array_equal(fast[1], ref[1])
    # the square's box (GT 0) where it is the largest contour, the U's (GT 1) above
    assert ref[1][100] == 0 and ref[0][100] > 0.9 and ref[1][200] == 1
