"""The benchmark's reference side: the literal released box loop gives the exact counts."""
import numpy as np
import pytest
from eval_test_utils import KINDS, random_boxes, random_map

from wsol_mm.evaluation.functional import box_iou, reference_best_ious, threshold_list
from wsol_mm.evaluation.functional.literal_protocols import _tiled_ious, literal_box_counts


def test_tiled_ious_equal_box_iou():
    rng = np.random.default_rng(0)
    boxes = np.concatenate([random_boxes(rng, 40, 30) for _ in range(20)])
    gts = random_boxes(rng, 40, 30)
    # integer areas and one division per pair on both sides: the same float64 quotient
    assert np.array_equal(_tiled_ious(boxes, gts), box_iou(boxes, gts))
    assert _tiled_ious(boxes, gts).shape == (len(boxes), len(gts))


@pytest.mark.parametrize('bad', [[[-1, 0, 2, 2]], [[3, 0, 1, 2]], [[0, 3, 1, 2]]])
def test_tiled_ious_check_the_box_convention(bad):
    with pytest.raises(RuntimeError):
        _tiled_ious(np.array(bad), np.array([[0, 0, 1, 1]]))
    with pytest.raises(RuntimeError):
        _tiled_ious(np.array([[0, 0, 1, 1]]), np.array(bad))


@pytest.mark.parametrize('multi', [False, True])
def test_literal_counts_equal_opencv_reference(multi):
    rng = np.random.default_rng(3)
    items = []
    for kind in KINDS:
        cam = random_map(rng, kind)
        items.append((cam, random_boxes(rng, *cam.shape)))
    thrs, ious = threshold_list(0.05), (30, 50, 70)
    counts = literal_box_counts(items, thrs, ious, multi)
    best = np.stack([reference_best_ious(cam, gt, thrs, multi)[0] for cam, gt in items])
    expected = np.stack([(best >= t / 100).sum(0) for t in ious])
    assert counts.dtype == np.int64 and counts.shape == (3, len(thrs))
    assert np.array_equal(counts, expected)
    assert counts.sum() > 0  # the maps are not all misses
