"""Predictions map back to original-image pixels through the recorded homography."""
import numpy as np
import pytest

from wsol_mm.datasets.transforms import CenterCrop, RandomFlip, Resize
from wsol_mm.utils.frames import boxes_to_original, gt_boxes_original, map_to_original


def _results(h: int = 120, w: int = 200) -> dict:
    box = np.array([[30, 20, 89, 69]], np.float32)  # inclusive: 60 x 50 pixels
    mask = np.zeros((h, w), np.uint8)
    mask[20:70, 30:90] = 1
    return dict(img=np.zeros((h, w, 3), np.uint8), img_shape=(h, w), ori_shape=(h, w),
                gt_bboxes=box.copy(), ori_gt_bboxes=box.copy(), gt_mask=mask)


@pytest.mark.parametrize('steps', [
    [Resize(scale=(100, 60))],
    [Resize(scale=(256, 256)), CenterCrop(crop_size=224)],
    [Resize(scale=(256, 256)), CenterCrop(crop_size=224), RandomFlip(prob=1.0)],
    [CenterCrop(crop_size=(160, 100)), Resize(scale=112)],
])
def test_boxes_and_masks_return_to_the_original_frame(steps):
    results = _results()
    for step in steps:
        results = step(results)
    # the transformed GT box maps back onto the original one (within the one pixel that
    # the floor() of the box resize can lose per side)
    back = boxes_to_original(results['gt_bboxes'], results)
    assert np.abs(back - results['ori_gt_bboxes']).max() <= 2
    # the transformed mask, warped back, covers the original object
    mask = map_to_original(results['gt_mask'].astype(np.float32), results, 'nearest')
    ori = _results()['gt_mask'].astype(bool)
    inter = ((mask > 0.5) & ori).sum()
    assert inter / ((mask > 0.5) | ori).sum() > 0.9
    assert mask.shape == (120, 200)


def test_pixels_outside_the_crop_get_the_fill_value():
    results = CenterCrop(crop_size=(100, 120))(_results())
    ones = np.ones(results['img_shape'], np.float32)
    back = map_to_original(ones, results, fill=0.0)
    assert back[:, :50].max() == 0 and back[:, 150:].max() == 0
    assert back[:, 52:148].min() == 1


def test_plain_resize_without_matrix_uses_the_scale_and_a_crop_without_it_fails():
    meta = dict(ori_shape=(40, 80), img_shape=(20, 20))
    assert boxes_to_original([[0, 0, 9, 9]], meta).tolist() == [[0, 0, 39, 19]]
    with pytest.raises(ValueError, match='homography_matrix'):
        boxes_to_original([[0, 0, 1, 1]], dict(meta, crop_bbox=(0, 0, 19, 19)))


def test_gt_boxes_prefer_the_recorded_original_boxes():
    meta = dict(ori_shape=(40, 80), img_shape=(20, 20), ori_gt_bboxes=[[1, 2, 3, 4]])
    assert gt_boxes_original(meta, [[0, 0, 5, 5]]).tolist() == [[1, 2, 3, 4]]
