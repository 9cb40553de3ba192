"""Pure pieces of the crop consistency: boxes, zoom, paste, cosine, nu rule."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wsol_mm.models.normalizers import MinMaxNorm
from wsol_mm.models.utils.crop_ops import (
    boxes_to_pixels,
    cosine_consistency,
    crop_and_zoom,
    crop_boxes,
    paste_zoom_maps,
    small_box_mask,
    square_box,
    union_box,
)


def test_union_box_single_blob_and_true_union():
    m = np.zeros((16, 16), bool)
    m[3:7, 5:9] = True
    assert union_box(m) == (5, 3, 4, 4) == union_box(m, released_union=True)
    # two blobs: the released loop drops the first contour's far edges (spec 2.5 probe)
    m = np.zeros((16, 16), bool)
    m[10:13, 10:13] = True
    m[2:5, 2:5] = True
    assert union_box(m) == (2, 2, 11, 11)
    assert union_box(m, released_union=True) == (2, 2, 3, 3)
    assert union_box(np.zeros((4, 4), bool)) is None


@pytest.mark.parametrize('box,exp', [
    ((5, 2, 2, 6), (3, 2, 6, 6)),     # centred widening
    ((5, 2, 2, 5), (3, 2, 5, 5)),     # odd difference: start - int(1.5)
    ((1, 2, 2, 6), (0, 2, 6, 6)),     # clamped at the left border
    ((13, 2, 2, 6), (11, 2, 5, 6)),   # cut at the right border, stays non-square
    ((2, 12, 6, 2), (2, 10, 6, 6)),   # heightening
    ((2, 13, 6, 2), (2, 11, 6, 5)),   # cut at the bottom border
    ((4, 4, 3, 3), (4, 4, 3, 3)),     # already square
])
def test_square_box(box, exp):
    assert square_box(box, 16, 16) == exp


def test_crop_boxes_threshold_union_and_fallbacks():
    maps = torch.zeros(4, 8, 8)
    maps[0, 2:4, 3:5] = 1.0          # one blob -> its box
    maps[0, 5, 5] = 0.5              # exactly tau * max: strictly-greater test excludes it
    maps[1, 1, 1] = 1.0
    maps[1, 1, 6] = 0.8              # two blobs on a row -> union, squared at the border
    maps[3] = float('nan')
    boxes = crop_boxes(maps, 0.5)
    assert boxes[0].tolist() == [3, 2, 2, 2]
    assert boxes[1].tolist() == [1, 0, 6, 6]   # (1,1,6,1) -> y = int(1 - 2.5) -> 0, h = 6
    assert boxes[2].tolist() == [0, 0, 8, 8]   # all-zero map: whole grid
    assert boxes[3].tolist() == [0, 0, 8, 8]   # NaN map: whole grid
    assert boxes_to_pixels(boxes[:1], (8, 8), (64, 128)).tolist() == [[48, 16, 32, 16]]


def test_crop_and_zoom():
    img = torch.randn(2, 3, 16, 16)
    full = crop_and_zoom(img, np.array([[0, 0, 16, 16]] * 2), (16, 16))
    assert torch.allclose(full, img, atol=1e-6)  # whole-image box: same image
    out = crop_and_zoom(img, np.array([[4, 2, 8, 8], [0, 0, 4, 4]]), (16, 16))
    exp = F.interpolate(img[1:, :, 0:4, 0:4], size=(16, 16), mode='bicubic', align_corners=False)
    assert out.shape == (2, 3, 16, 16) and torch.allclose(out[1:], exp)


def test_paste_zoom_maps_region_and_detach():
    base = torch.rand(2, 1, 8, 8, requires_grad=True)
    zoom = torch.arange(16.).view(1, 1, 4, 4).repeat(2, 1, 1, 1)
    pasted = paste_zoom_maps(base, zoom, np.array([[2, 1, 4, 4], [0, 0, 8, 8]]),
                             MinMaxNorm().train_norm)
    assert not pasted.requires_grad
    inside = pasted[0, 0, 1:5, 2:6]
    assert torch.allclose(inside, torch.arange(16.).view(4, 4) / 15)  # same size: min-max only
    mask = torch.ones(8, 8, dtype=torch.bool)
    mask[1:5, 2:6] = False
    assert torch.equal(pasted[0, 0][mask], base[0, 0].detach()[mask])  # outside: M_orig
    exp = MinMaxNorm().train_norm(
        F.interpolate(zoom[1:], (8, 8), mode='bicubic', align_corners=False))
    assert torch.allclose(pasted[1], exp[0])


def test_cosine_consistency_batch_global_hand_values():
    a = torch.tensor([[[[1., 0.]]], [[[0., 2.]]]], requires_grad=True)
    b = torch.tensor([[[[1., 0.]]], [[[1., 0.]]]], requires_grad=True)
    l_con, l_pos, l_neg = cosine_consistency(a, b, 0.9, 0.1)
    # global: a.b = 1, |a| = sqrt(5), |b| = sqrt(2); a.(1-b) = 2, |1-b| = sqrt(2)
    assert math.isclose(l_pos.item(), 1 - 1 / math.sqrt(10), rel_tol=1e-6)
    assert math.isclose(l_neg.item(), 1 - 2 / math.sqrt(10), rel_tol=1e-6)
    assert math.isclose(l_con.item(), 0.9 * l_pos.item() - 0.1 * l_neg.item() + 1, rel_tol=1e-6)
    l_con.backward()
    assert b.grad is None  # the zoom map never gets gradient
    assert a.grad is not None and a.grad.abs().sum() > 0
    # all-zero 1 - M_zoom: cos = 0 instead of NaN
    _, _, l_neg = cosine_consistency(a, torch.ones_like(a), 1.0, 1.0)
    assert l_neg.item() == 1.0


def test_small_box_mask_nu_rule():
    boxes = np.array([[0, 0, 2, 5], [0, 0, 3, 3], [0, 0, 10, 10]])
    assert small_box_mask(boxes, (10, 10), 0.1).tolist() == [False, True, False]  # strict <
    assert small_box_mask(boxes, (10, 10), 0.0).tolist() == [False, False, False]
    assert small_box_mask(boxes, (10, 10), 1.0).tolist() == [True, True, False]
