import random

import numpy as np
import pytest
import torch

from wsol_mm.datasets.transforms import RandAugment, RandomErasing
from wsol_mm.datasets.transforms.rand_augment import GEOMETRIC_OPS, posterize_keeping_any_bits


def _results(seed=0):
    rng = np.random.RandomState(seed)
    img = rng.randint(0, 256, (48, 64, 3)).astype(np.uint8)
    return dict(img=img, img_shape=(48, 64), gt_bboxes=np.array([[4., 5., 30., 40.]]),
                gt_mask=np.zeros((48, 64), np.uint8))


def test_rand_augment_color_only_keeps_boxes():
    random.seed(0)
    aug = RandAugment('rand-m9-n2-mstd0.5-inc1', img_size=64, color_only=True)
    assert aug.op_names and not set(aug.op_names) & set(GEOMETRIC_OPS)
    assert {op.name for op in aug.augment.ops} == set(aug.op_names)
    changed = 0
    for seed in range(5):
        res = aug(_results(seed))
        assert res['img'].shape == (48, 64, 3) and res['img'].dtype == np.uint8
        np.testing.assert_array_equal(res['gt_bboxes'], [[4., 5., 30., 40.]])
        changed += int(not np.array_equal(res['img'], _results(seed)['img']))
    assert changed > 0


def test_rand_augment_full_recipe_drops_locations():
    random.seed(1)
    aug = RandAugment('rand-m9-mstd0.5-inc1', img_size=64)
    assert {'Rotate', 'ShearX'} <= {op.name for op in aug.augment.ops}
    res = aug(_results())
    assert 'gt_bboxes' not in res and 'gt_mask' not in res
    assert res['img'].shape == (48, 64, 3)


def test_random_erasing_matches_normalised_fill():
    random.seed(0)
    torch.manual_seed(0)
    mean, std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
    eraser = RandomErasing(prob=1.0, mean=mean, std=std)
    src = _results()
    res = eraser(dict(src, img=src['img'].copy()))
    diff = np.any(res['img'] != src['img'], axis=2)
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 0
    # Exactly one rectangle changed; everything outside it is untouched.
    box = np.zeros_like(diff)
    box[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    assert not np.any(diff & ~box)
    # Inside, normalised values look like N(0, 1) (RGB stats applied to BGR channels).
    patch = res['img'][box].astype(np.float64)[:, ::-1]
    normed = (patch - np.array(mean)) / np.array(std)
    assert abs(normed.mean()) < 0.3 and 0.6 < normed.std() < 1.2
    np.testing.assert_array_equal(res['gt_bboxes'], src['gt_bboxes'])
    # prob 0: identity.
    same = RandomErasing(prob=0.0)(dict(src, img=src['img'].copy()))
    np.testing.assert_array_equal(same['img'], src['img'])


@pytest.mark.parametrize('mode,max_count', [('pixel', 1), ('rand', 3), ('const', 2)])
def test_random_erasing_draws_the_same_random_stream_as_timm(mode, max_count):
    # Mapping only the erased patches must not change which images timm erases, nor where,
    # nor any pixel: the same images as timm's eraser on the whole normalised image mapped
    # back, and the same final random state.
    from timm.data.random_erasing import RandomErasing as TimmRandomErasing
    ours = RandomErasing(prob=0.5, mode=mode, max_count=max_count)
    timm_eraser = TimmRandomErasing(probability=0.5, mode=mode, max_count=max_count,
                                    device='cpu')
    imgs = [_results(seed)['img'] for seed in range(8)]
    random.seed(3)
    torch.manual_seed(3)
    got = [ours(dict(img=img))['img'] for img in imgs]
    assert all(np.array_equal(img, _results(seed)['img']) for seed, img in enumerate(imgs))
    state = random.getstate()
    random.seed(3)
    torch.manual_seed(3)
    erased = 0
    for img, out in zip(imgs, got):
        chw = torch.from_numpy(img.transpose(2, 0, 1).copy())
        normed = (chw.float() - ours.mean) / ours.std
        ref = (timm_eraser(normed) * ours.std + ours.mean).round().clamp(0, 255)
        np.testing.assert_array_equal(out, ref.to(torch.uint8).numpy().transpose(1, 2, 0))
        erased += int(not np.array_equal(out, img))
    assert 0 < erased < len(imgs) and random.getstate() == state


def test_rand_augment_posterize_to_zero_bits_gives_black():
    """Magnitude 10 keeps 0 bits in PosterizeIncreasing: a black image, as with the Pillow of
    the released recipes (the pinned Pillow raises), on every image of the pipeline."""
    from PIL import Image
    img = Image.fromarray(np.full((6, 5, 3), 200, np.uint8))
    assert not np.asarray(posterize_keeping_any_bits(img, 0)).any()
    assert np.asarray(posterize_keeping_any_bits(img, 1)).max() == 128  # timm's op otherwise
    aug = RandAugment('rand-m10-mstd0-inc1', color_only=True)
    names = [op.name for op in aug.augment.ops]
    assert 'PosterizeIncreasing' in names
    random.seed(0)
    np.random.seed(0)
    rng = np.random.default_rng(0)
    for _ in range(200):  # ~20 applications (2 of 10 colour ops per image, each with p 0.5)
        out = aug.transform(dict(img=rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)))
        assert out['img'].shape == (16, 16, 3) and out['img'].dtype == np.uint8
