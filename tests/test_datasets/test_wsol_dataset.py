"""WSOLDataset parsing and every bad-input case of the metadata."""
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from wsol_mm.datasets import MetadataError, SyntheticWSOLDataset, WSOLDataset
from wsol_mm.utils import DataFileError, register_all_modules

register_all_modules()


def _write_split(root, lines: dict) -> str:
    split = osp.join(root, 'meta')
    os.makedirs(split, exist_ok=True)
    for name, rows in lines.items():
        with open(osp.join(split, name), 'w') as f:
            f.write('\n'.join(rows) + ('\n' if rows else ''))
    return split


def _good_lines():
    return {
        'image_ids.txt': ['a.png', 'b.png'],
        'class_labels.txt': ['a.png,0', 'b.png,1'],
        'image_sizes.txt': ['a.png,20,10', 'b.png,20,10'],
        'localization.txt': ['a.png,1,2,5,6', 'b.png,0,0,19,9', 'b.png,3,3,4,4'],
    }


def _dataset(root, **kwargs):
    return WSOLDataset(ann_file='meta', data_root=str(root), num_classes=2, test_mode=True,
                       **kwargs)


def test_parses_boxes_in_file_order(tmp_path):
    _write_split(tmp_path, _good_lines())
    ds = _dataset(tmp_path)
    assert len(ds) == 2 and ds.num_classes == 2
    info = ds.get_data_info(1)
    assert info['img_id'] == 'b.png' and info['gt_label'] == 1
    assert info['ori_size'] == (20, 10)
    np.testing.assert_array_equal(info['gt_bboxes'], [[0, 0, 19, 9], [3, 3, 4, 4]])


@pytest.mark.parametrize('name,rows,match', [
    ('class_labels.txt', ['a.png,0,3', 'b.png,1'], r'class_labels.txt:1: expected 2'),
    ('localization.txt', ['a.png,1,2,5', 'b.png,0,0,1,1'], r'localization.txt:1: expected 5'),
    ('localization.txt', ['a.png,5,2,1,6', 'b.png,0,0,1,1'], r'localization.txt:1: .*x0 <= x1'),
    ('localization.txt', ['a.png,1,2,20,6', 'b.png,0,0,1,1'], r'localization.txt:1: .*outside'),
    ('localization.txt', ['a.png,1,2,5,x', 'b.png,0,0,1,1'], r"localization.txt:1: 'x' is not"),
    ('class_labels.txt', ['a.png,0', 'b.png,7'], r'label 7 .* outside \[0, 2\)'),
    ('class_labels.txt', ['a.png,0', 'c.png,1'], r"class_labels.txt:2: image id 'c.png' is not"),
    ('class_labels.txt', ['a.png,0'], r"'b.png' .* has no class label"),
    ('localization.txt', ['a.png,1,2,5,6'], r"'b.png' has no box annotation"),
    ('image_ids.txt', [], r'the split is empty'),
    ('image_ids.txt', ['a.png', 'a.png'], r'image_ids.txt:2: duplicate'),
])
def test_bad_metadata_names_file_and_line(tmp_path, name, rows, match):
    lines = _good_lines()
    lines[name] = rows
    _write_split(tmp_path, lines)
    with pytest.raises(MetadataError, match=match):
        _dataset(tmp_path)


def test_missing_metadata_file_and_folder(tmp_path):
    lines = _good_lines()
    del lines['class_labels.txt']
    _write_split(tmp_path, lines)
    with pytest.raises(MetadataError, match='class_labels.txt: file not found'):
        _dataset(tmp_path)
    with pytest.raises(FileNotFoundError, match='metadata folder .*nope not found'):
        WSOLDataset(ann_file='nope', data_root=str(tmp_path), num_classes=2)


def test_train_split_may_lack_boxes(tmp_path):
    lines = _good_lines()
    lines['localization.txt'] = []
    _write_split(tmp_path, lines)
    ds = WSOLDataset(ann_file='meta', data_root=str(tmp_path), num_classes=2)
    assert ds.get_data_info(0)['gt_bboxes'].shape == (0, 4)


def _pipeline():
    return [dict(type='LoadImageFromFile'), dict(type='LoadWSOLAnnotations'),
            dict(type='Resize', scale=32), dict(type='PackWSOLInputs')]


def test_missing_and_corrupt_images_name_the_file(tmp_path):
    _write_split(tmp_path, _good_lines())
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((10, 20, 3), np.uint8))
    (tmp_path / 'b.png').write_bytes(b'not a png')
    ds = _dataset(tmp_path, pipeline=_pipeline())
    assert tuple(ds[0]['inputs'].shape) == (3, 32, 32)
    with pytest.raises(ValueError, match=r'b.png cannot be decoded'):
        ds[1]
    os.remove(tmp_path / 'b.png')
    with pytest.raises(FileNotFoundError, match=r"b.png not found \(image id 'b.png'"):
        ds[1]
    (tmp_path / 'b.png').write_bytes(b'')  # zero bytes: cv2 alone says only "!buf.empty()"
    with pytest.raises(DataFileError, match=r'image \S*b.png is empty \(0 bytes\)'):
        ds[1]


def test_zero_byte_mask_names_the_file(tmp_path):
    lines = _good_lines()
    lines['localization.txt'] = ['a.png,m.png,', 'b.png,m.png,']
    _write_split(tmp_path, lines)
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((10, 20, 3), np.uint8))
    (tmp_path / 'm.png').write_bytes(b'')
    ds = _dataset(tmp_path, ann_kind='mask', pipeline=_pipeline(),
                  data_prefix=dict(img_path='', mask_path=''))
    with pytest.raises(DataFileError, match=r'image \S*m.png is empty'):
        ds[0]


def _random_pipeline():
    return [dict(type='LoadImageFromFile'), dict(type='LoadWSOLAnnotations'),
            dict(type='RandomResizedCrop', scale=24), dict(type='RandomFlip', prob=0.5),
            dict(type='PackWSOLInputs')]


def _epoch_batches(ds, num_workers: int) -> list:
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=num_workers,
                                         collate_fn=pseudo_collate)
    return [torch.stack(b['inputs']) for b in loader]


def test_augmentation_is_keyed_by_seed_epoch_and_index(tiny_synthetic):
    """Same (seed, epoch) -> same augmented samples, whatever the workers or global RNG."""
    ds = SyntheticWSOLDataset(data_root=tiny_synthetic, generator=dict(
        image_size=64, num_classes=4, splits=dict(train=16, val=8, test=8), seed=1),
        pipeline=_random_pipeline())
    ds.set_epoch_seed(seed=3, epoch=1)
    torch.manual_seed(0)
    in_process = _epoch_batches(ds, num_workers=0)
    torch.manual_seed(1)  # the global streams do not matter ...
    np.random.seed(123)
    in_workers = _epoch_batches(ds, num_workers=2)
    assert all(torch.equal(a, b) for a, b in zip(in_process, in_workers))
    state = torch.get_rng_state(), np.random.get_state()[1].copy()
    ds[0]  # ... and are not consumed (the model's dropout stream stays the same)
    assert torch.equal(state[0], torch.get_rng_state())
    assert np.array_equal(state[1], np.random.get_state()[1])
    ds.set_epoch_seed(seed=3, epoch=2)
    assert not all(torch.equal(a, b) for a, b in zip(in_process, _epoch_batches(ds, 0)))


def test_image_size_disagreeing_with_metadata(tmp_path):
    _write_split(tmp_path, _good_lines())
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((11, 20, 3), np.uint8))
    ds = _dataset(tmp_path, pipeline=_pipeline())
    with pytest.raises(ValueError, match='is 20x11 but image_sizes.txt says 20x10'):
        ds[0]


def test_synthetic_dataset_boxes_and_masks(tiny_synthetic):
    pipe = _pipeline()
    boxes = SyntheticWSOLDataset(data_root=tiny_synthetic, split='val', test_mode=True,
                                 generator=dict(image_size=64, num_classes=4,
                                                splits=dict(train=16, val=8, test=8), seed=1),
                                 pipeline=pipe)
    assert len(boxes) == 8 and boxes.num_classes == 4
    sample = boxes[0]['data_samples']
    assert sample.gt_bboxes.shape[1] == 4 and sample.img_shape == (32, 32)
    assert sample.ori_shape == (64, 64) and len(sample.ori_gt_bboxes)
    masks = SyntheticWSOLDataset(data_root=tiny_synthetic, split='val', ann_kind='mask',
                                 test_mode=True, auto_generate=False, pipeline=pipe)
    m = masks[0]['data_samples']
    assert m.gt_mask.dtype.is_floating_point is False and m.gt_mask.any()
    assert not (m.gt_mask & m.ignore_mask).any()


def test_synthetic_dataset_bad_split(tiny_synthetic):
    with pytest.raises(ValueError, match="split 'dev' is not one of"):
        SyntheticWSOLDataset(data_root=tiny_synthetic, split='dev', auto_generate=False)


def test_synthetic_generates_when_missing(tmp_path):
    root = str(tmp_path / 'gen')
    ds = SyntheticWSOLDataset(data_root=root, split='test', test_mode=True,
                              generator=dict(image_size=32, splits=dict(train=4, val=4, test=4)))
    assert len(ds) == 4 and osp.isfile(osp.join(root, 'meta.json'))
    shutil.rmtree(root)
