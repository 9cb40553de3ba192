"""WSOLDataPreprocessor: the batch is stacked before it goes to the device and the data
samples' tensors travel together, with mmengine's values (GPU host syncs: docs/speed.md)."""
import pytest
import torch
from mmengine.model import ImgDataPreprocessor
from torch.utils._python_dispatch import TorchDispatchMode

import wsol_mm  # noqa: F401
from wsol_mm.models.data_preprocessor import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    WSOLDataPreprocessor,
    move_together,
    samples_to_device,
)
from wsol_mm.structures import WSOLDataSample


class CopyCounter(TorchDispatchMode):
    """Counts the copies between devices (``aten._to_copy`` / ``aten.copy_``) inside."""

    def __init__(self) -> None:
        super().__init__()
        self.copies = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.__name__.split('.')[0]
        if name == '_to_copy' and kwargs.get('device') not in (None, args[0].device):
            self.copies += 1
        elif name == 'copy_' and args[0].device != args[1].device:
            self.copies += 1
        return func(*args, **kwargs)


def _samples(n: int) -> list:
    g = torch.Generator().manual_seed(1)
    out = []
    for i in range(n):
        sample = WSOLDataSample(metainfo=dict(img_shape=(8, 8), index=i)).set_gt_label(3 * i)
        sample.gt_bboxes = torch.rand(i + 1, 4, generator=g)  # sizes differ per sample
        out.append(sample)
    return out


def _images(shapes) -> list:
    g = torch.Generator().manual_seed(0)
    return [torch.randint(0, 256, s, dtype=torch.uint8, generator=g) for s in shapes]


@pytest.mark.parametrize('shapes', [[(3, 8, 8)] * 4, [(3, 8, 8), (3, 6, 9)], [(3, 5, 7)]])
@pytest.mark.parametrize('options', [dict(), dict(pad_size_divisor=4),
                                     dict(bgr_to_rgb=False)])
def test_values_are_mmengine_ones(shapes, options):
    """Same-size images are stacked first, mixed sizes padded as before: either way the
    batch equals mmengine's per-image result exactly (element-wise maths only)."""
    imgs, samples = _images(shapes), _samples(len(shapes))
    ours = WSOLDataPreprocessor(**options)(dict(inputs=imgs, data_samples=samples),
                                           training=True)
    ref = ImgDataPreprocessor(**dict(dict(mean=IMAGENET_MEAN, std=IMAGENET_STD,
                                          bgr_to_rgb=True), **options))(
        dict(inputs=imgs, data_samples=samples), training=True)
    assert torch.equal(ours['inputs'], ref['inputs'])
    for a, b in zip(ours['data_samples'], ref['data_samples']):
        assert torch.equal(a.gt_label, b.gt_label) and torch.equal(a.gt_bboxes, b.gt_bboxes)
        assert a.metainfo == b.metainfo


def test_float_images_are_not_changed():
    """The batch is normalised in place, in its own buffer: float inputs stay as given."""
    imgs = [img.float() for img in _images([(3, 8, 8)] * 3)]
    before = [img.clone() for img in imgs]
    out = WSOLDataPreprocessor(bgr_to_rgb=False)(dict(inputs=imgs, data_samples=None))
    assert all(torch.equal(a, b) for a, b in zip(imgs, before))
    assert not torch.equal(out['inputs'][0], imgs[0])


def test_channel_count_mismatch_is_named():
    with pytest.raises(ValueError, match='model.data_preprocessor.mean'):
        WSOLDataPreprocessor()(dict(inputs=_images([(1, 8, 8)] * 2), data_samples=None))


def test_input_dict_is_left_alone():
    imgs, samples = _images([(3, 8, 8)] * 2), _samples(2)
    data = dict(inputs=imgs, data_samples=samples)
    WSOLDataPreprocessor()(data, training=True)
    assert data['inputs'] is imgs and isinstance(data['inputs'], list)
    assert data['data_samples'] is samples


def test_move_together_keeps_values_in_one_buffer_per_dtype():
    tensors = [torch.arange(3), torch.rand(2, 2), torch.arange(4).view(2, 2).t(),
               torch.rand(5)]  # one non-contiguous
    moved = move_together(tensors, torch.device('cpu'))
    for a, b in zip(tensors, moved):
        assert a.dtype == b.dtype and torch.equal(a, b)
    longs = {t.untyped_storage().data_ptr() for t in (moved[0], moved[2])}
    floats = {t.untyped_storage().data_ptr() for t in (moved[1], moved[3])}
    assert len(longs) == 1 and len(floats) == 1 and longs != floats


def test_samples_travel_with_one_copy_per_dtype():
    """Moving 6 samples (int64 labels, float boxes) costs 2 copies, not 12; the given
    samples keep their tensors (the loader's batch is not changed)."""
    samples = _samples(6)
    with CopyCounter() as counter:
        moved = samples_to_device(samples, torch.device('meta'))
    assert counter.copies == 2
    for old, new in zip(samples, moved):
        assert new.gt_label.device.type == 'meta' and old.gt_label.device.type == 'cpu'
        assert new.gt_bboxes.shape == old.gt_bboxes.shape
        assert new.gt_label.dtype == torch.int64 and new.metainfo == old.metainfo
    same = samples_to_device(samples, torch.device('cpu'))  # nothing to move: new samples
    assert all(a is not b and a.gt_label is b.gt_label for a, b in zip(same, samples))


def test_batch_travels_with_one_copy():
    """The uint8 batch goes to the device as one tensor (one copy, not one per image)."""
    imgs = _images([(3, 8, 8)] * 5)
    pre = WSOLDataPreprocessor().to('meta')  # a device without a GPU: shapes only
    with CopyCounter() as counter:
        out = pre(dict(inputs=imgs, data_samples=_samples(5)), training=True)
    # the batch, the int64 labels, the float boxes (the BGR->RGB swap is a flip on the
    # device, not an index tensor copied there)
    assert counter.copies == 3
    assert out['inputs'].shape == (5, 3, 8, 8) and out['inputs'].device.type == 'meta'
