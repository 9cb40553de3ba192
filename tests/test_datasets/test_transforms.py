"""Geometric transforms move boxes and masks with the pixels (known-geometry images)."""
import numpy as np
import pytest

from wsol_mm.datasets.transforms import (
    CenterCrop,
    PackWSOLInputs,
    RandomCrop,
    RandomFlip,
    RandomResizedCrop,
    Resize,
)


def _results(h=40, w=60, box=(10, 5, 29, 24)):
    """An image whose only non-zero pixels are exactly the inclusive box (and its mask)."""
    img = np.zeros((h, w, 3), np.uint8)
    x0, y0, x1, y1 = box
    img[y0:y1 + 1, x0:x1 + 1] = 255
    mask = (img[..., 0] > 0).astype(np.uint8)
    return dict(img=img, gt_bboxes=np.array([box], np.float32), gt_mask=mask,
                ignore_mask=np.zeros_like(mask), img_shape=(h, w), ori_shape=(h, w))


def _tight_box(mask):
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max(), ys.max()]


def test_resize_truncates_like_wsolevaluation():
    r = Resize(scale=(35, 10)).transform(_results(h=20, w=10, box=(1, 2, 4, 3)))
    # wsolevaluation test vector: (1,2,4,3) from (W=10,H=20) to (35,10) -> (3,1,14,1)
    np.testing.assert_array_equal(r['gt_bboxes'], [[3, 1, 14, 1]])
    assert r['img_shape'] == (10, 35) and r['gt_mask'].shape == (10, 35)
    assert r['scale_factor'] == (3.5, 0.5)


def test_flip_maps_box_to_mirrored_pixels():
    flip = RandomFlip(prob=1.0)
    r = flip.transform(_results())
    assert r['flip'] and r['flip_direction'] == 'horizontal'
    assert r['gt_bboxes'][0].tolist() == _tight_box(r['img'][..., 0]) == [30, 5, 49, 24]
    assert _tight_box(r['gt_mask']) == [30, 5, 49, 24]
    assert not RandomFlip(prob=0.0).transform(_results())['flip']


def test_center_crop_shifts_and_clips():
    r = CenterCrop(crop_size=20).transform(_results())  # window x 20..39, y 10..29
    assert r['crop_bbox'] == (20, 10, 39, 29)
    assert r['gt_bboxes'][0].tolist() == _tight_box(r['img'][..., 0]) == [0, 0, 9, 14]
    assert _tight_box(r['gt_mask']) == [0, 0, 9, 14]


def test_random_crop_keeps_boxes_on_their_pixels():
    np.random.seed(0)
    for _ in range(20):
        r = RandomCrop(crop_size=(30, 30)).transform(_results())
        if len(r['gt_bboxes']):
            assert r['gt_bboxes'][0].tolist() == _tight_box(r['img'][..., 0])
        else:
            assert not r['img'].any()
    with pytest.raises(ValueError, match='larger than the image'):
        RandomCrop(crop_size=100).transform(_results())


def test_random_resized_crop_boxes_follow_pixels():
    np.random.seed(1)
    for _ in range(20):
        r = RandomResizedCrop(scale=32, interpolation='nearest').transform(_results())
        assert r['img'].shape == (32, 32, 3) and r['gt_mask'].shape == (32, 32)
        if len(r['gt_bboxes']) and r['img'].any():
            x0, y0, x1, y1 = r['gt_bboxes'][0]
            tx0, ty0, tx1, ty1 = _tight_box(r['img'][..., 0])
            # floor-scaled inclusive corners may differ from the resampled pixels by < 1 scale step
            assert abs(x0 - tx0) <= 2 and abs(y0 - ty0) <= 2
            assert abs(x1 - tx1) <= 2 and abs(y1 - ty1) <= 2


def test_pack_creates_sample_with_meta():
    r = _results()
    r.update(gt_label=3, img_path='x.png', img_id='x.png', ori_gt_bboxes=r['gt_bboxes'])
    packed = PackWSOLInputs().transform(r)
    assert tuple(packed['inputs'].shape) == (3, 40, 60)
    s = packed['data_samples']
    assert s.gt_label.tolist() == [3] and s.img_id == 'x.png'
    assert s.gt_mask.dtype.__str__() == 'torch.bool' and s.gt_bboxes.shape == (1, 4)
