"""``WSOLDataPreprocessor(channels_last=True)``: same batch values in channels-last order, and
the models it feeds give the losses, gradients and maps of the contiguous batch."""
import numpy as np
import pytest
import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()  # the wsol_mm scope for the preprocessor built inside a model

SIZE = 64


def _data(n=3):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i in range(n):
        sample = WSOLDataSample(metainfo=dict(img_shape=(SIZE, SIZE), ori_shape=(SIZE, SIZE)))
        sample.set_gt_label(i % 4)
        samples.append(sample)
    images = [torch.randint(0, 256, (3, SIZE, SIZE), generator=gen, dtype=torch.uint8)
              for _ in range(n)]
    return dict(inputs=images, data_samples=samples)


@pytest.mark.parametrize('training', [False, True])
def test_preprocessor_changes_only_the_memory_order(training):
    plain = MODELS.build(dict(type='WSOLDataPreprocessor'))
    last = MODELS.build(dict(type='WSOLDataPreprocessor', channels_last=True))
    a, b = plain(_data(), training)['inputs'], last(_data(), training)['inputs']
    assert a.is_contiguous() and not b.is_contiguous()
    assert b.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(a, b)  # a copy in another order: the same numbers


def test_channels_last_must_be_a_bool():
    with pytest.raises(TypeError, match='model.data_preprocessor.channels_last'):
        MODELS.build(dict(type='WSOLDataPreprocessor', channels_last='yes'))


def test_zoom_batch_keeps_the_memory_order():
    """The zoom pass must run in the first pass's order (a contiguous zoom batch would
    silently run the second pass in the slower order)."""
    from wsol_mm.models.utils.crop_ops import crop_and_zoom
    images = torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))
    boxes = np.array([[0, 0, SIZE, SIZE], [4, 8, 20, 30], [10, 3, 33, 17]])
    plain = crop_and_zoom(images, boxes, (SIZE, SIZE))
    last = crop_and_zoom(images.contiguous(memory_format=torch.channels_last), boxes,
                         (SIZE, SIZE))
    assert plain.is_contiguous()
    assert not last.is_contiguous() and last.is_contiguous(memory_format=torch.channels_last)
    # bicubic weights do not depend on the order; the sums may round differently
    torch.testing.assert_close(last, plain, rtol=1e-6, atol=1e-5)


def _model(channels_last: bool, dtype: torch.dtype, crop: bool = True):
    torch.manual_seed(0)
    cfg = dict(type='CAMLocalizer',
               data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=channels_last),
               backbone=dict(type='ResNetCAM', depth=18),
               head=dict(type='CAMHead', num_classes=4, in_channels=512))
    if crop:  # threshold 0.85: every box of this seed is a strict part of the image
        cfg.update(type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.85,
                   crop_ratio=1.0, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65)
    return MODELS.build(cfg).to(dtype).train()


def test_crop_consistency_step_does_not_depend_on_memory_order(monkeypatch):
    """Both passes of crop consistency (CAM, box, crop, zoom, paste, cosine) on channels-last
    feature maps: same losses, gradients and predicted maps. float64: the two orders only sum
    in another order (relative rounding ~1e-16 per operation), so 1e-9 is loose; float32 is
    not compared here, because a rounding difference may move a thresholded box."""
    from wsol_mm.models.wrappers import crop_consistency
    boxes = []
    zoom = crop_consistency.crop_and_zoom

    def spy(images, px, size):
        boxes.append(px.tolist())
        return zoom(images, px, size)

    monkeypatch.setattr(crop_consistency, 'crop_and_zoom', spy)
    results = []
    for channels_last in (False, True):
        model = _model(channels_last, torch.float64)
        data = model.data_preprocessor(_data(), training=True)
        inputs = data['inputs'].double()
        assert inputs.is_contiguous(memory_format=torch.channels_last) == channels_last
        losses = model.loss(inputs, data['data_samples'])
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        model.eval()
        with torch.no_grad():
            preds = model.predict(inputs, data['data_samples'])
        results.append((losses, grads, torch.stack([p.pred_cam for p in preds])))
    # training and test-time zoom, for each order
    assert len(boxes) == 4 and boxes[:2] == boxes[2:]
    assert all(b != [0, 0, SIZE, SIZE] for b in boxes[0])
    (l0, g0, m0), (l1, g1, m1) = results
    assert l0.keys() == l1.keys() and any(k.startswith('loss_crop') for k in l0)
    for key in l0:
        torch.testing.assert_close(l1[key], l0[key], rtol=1e-9, atol=1e-9)
    assert g0.keys() == g1.keys() and len(g0) > 10
    for name in g0:
        scale = g0[name].abs().max().clamp_min(1e-12)
        assert (g1[name] - g0[name]).abs().max() <= 1e-9 * scale, name
    torch.testing.assert_close(m1, m0, rtol=0, atol=1e-9)


def test_float32_forward_on_onednn_channels_last():
    """float32 (oneDNN's channels-last convolutions): logits and CAMs of an eval-mode model
    agree with the contiguous batch up to float32 summation order (~1e-7 relative per layer)."""
    outs = []
    for channels_last in (False, True):
        model = _model(channels_last, torch.float32, crop=False).eval()
        data = model.data_preprocessor(_data(), training=False)
        with torch.no_grad():
            feats = model.backbone(data['inputs'])
            assert feats[-1].is_contiguous(memory_format=torch.channels_last) == channels_last
            outs.append((model.head(feats), torch.stack(
                [p.pred_cam for p in model.predict(data['inputs'], data['data_samples'])])))
    torch.testing.assert_close(outs[1][0], outs[0][0], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(outs[1][1], outs[0][1], rtol=0, atol=1e-4)
