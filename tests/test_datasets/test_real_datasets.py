"""CUB / ImageNet / OpenImages datasets and converters on generated, faithful trees."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest

import wsol_mm  # noqa: F401
from wsol_mm.datasets import (
    CUBDataset,
    ImageNetDataset,
    MetadataError,
    OpenImagesDataset,
    read_wsol_metadata,
)
from wsol_mm.datasets.converters import (
    cub_box_to_xyxy,
    cub_to_wsol,
    imagenet_train_to_wsol,
    imagenet_val_to_wsol,
    read_cub_native,
    write_wsol_split,
)
from wsol_mm.utils import register_all_modules

register_all_modules()

CLASSES = ['001.Black_footed_Albatross', '002.Laysan_Albatross', '003.Sooty_Albatross']
# (id, class, file, is_train, x, y, w, h, W, H)
CUB_IMAGES = [
    (1, 1, 'Black_Footed_Albatross_0046_18.jpg', 0, 6.0, 2.0, 20.0, 10.0, 40, 30),
    (2, 1, 'Black_Footed_Albatross_0009_34.jpg', 1, 13.0, 3.0, 15.0, 26.0, 40, 30),
    (3, 2, 'Laysan_Albatross_0003_1033.jpg', 1, 0.0, 0.0, 32.0, 24.0, 32, 24),
    (4, 3, 'Sooty_Albatross_0038_1065.jpg', 0, 1.0, 1.0, 5.0, 5.0, 20, 20),
]


def _img(path, w, h):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, np.full((h, w, 3), 127, np.uint8))


@pytest.fixture
def cub_root(tmp_path):
    root = tmp_path / 'CUB_200_2011'
    root.mkdir()
    lines = {k: [] for k in ('images', 'image_class_labels', 'train_test_split',
                             'bounding_boxes')}
    for idx, cls, name, train, x, y, w, h, iw, ih in CUB_IMAGES:
        rel = f'{CLASSES[cls - 1]}/{name}'
        _img(str(root / 'images' / rel), iw, ih)
        lines['images'].append(f'{idx} {rel}')
        lines['image_class_labels'].append(f'{idx} {cls}')
        lines['train_test_split'].append(f'{idx} {train}')
        lines['bounding_boxes'].append(f'{idx} {x} {y} {w} {h}')
    for name, rows in lines.items():
        (root / f'{name}.txt').write_text('\n'.join(rows) + '\n')
    (root / 'classes.txt').write_text(''.join(f'{i + 1} {c}\n' for i, c in enumerate(CLASSES)))
    return root


def test_cub_box_conversion_matches_wsolevaluation():
    # native "2 139.0 30.0 153.0 264.0" is "139,30,292,294" in wsolevaluation's train metadata
    assert cub_box_to_xyxy(139.0, 30.0, 153.0, 264.0) == [139, 30, 292, 294]
    assert cub_box_to_xyxy(0.0, 0.0, 32.0, 24.0, size=(32, 24)) == [0, 0, 31, 23]


def test_cub_native_dataset(cub_root):
    ds = CUBDataset(data_root=str(cub_root), split='test', native=True, test_mode=True)
    assert ds.metainfo['classes'] == tuple(CLASSES) and len(ds) == 2
    first = ds.get_data_info(0)
    assert first['img_id'] == f'{CLASSES[0]}/Black_Footed_Albatross_0046_18.jpg'
    assert first['img_path'] == osp.join(str(cub_root), 'images', first['img_id'])
    assert first['gt_label'] == 0 and ds.get_data_info(1)['gt_label'] == 2
    np.testing.assert_array_equal(first['gt_bboxes'], [[6, 2, 26, 12]])
    assert len(CUBDataset(data_root=str(cub_root), split='train', native=True)) == 2
    with pytest.raises(ValueError, match='native'):
        CUBDataset(data_root=str(cub_root), split='val', native=True)


def test_cub_native_bad_line(cub_root):
    path = cub_root / 'bounding_boxes.txt'
    rows = path.read_text().splitlines()
    rows[2] = '3 0.0 zero 32.0 24.0'
    path.write_text('\n'.join(rows) + '\n')
    with pytest.raises(MetadataError, match=r'bounding_boxes.txt:3: .zero. is not a valid float'):
        read_cub_native(str(cub_root), 'train')
    (cub_root / 'train_test_split.txt').write_text('1 0\n2 1\n3\n')
    with pytest.raises(MetadataError, match=r'train_test_split.txt:3: expected 2'):
        read_cub_native(str(cub_root), 'train')


def test_cub_converter_and_wsol_dataset(cub_root, tmp_path):
    data = tmp_path / 'data'
    counts = cub_to_wsol(str(cub_root), str(data / 'metadata' / 'CUB'))
    assert counts == {'train': 2, 'test': 2}
    test_dir = data / 'metadata' / 'CUB' / 'test'
    assert (test_dir / 'image_sizes.txt').read_text().splitlines()[1] == \
        f'{CLASSES[2]}/Sooty_Albatross_0038_1065.jpg,20,20'
    recs = read_wsol_metadata(str(data / 'metadata' / 'CUB' / 'train'))
    assert recs[1]['gt_bboxes'] == [[0, 0, 31, 23]]  # clipped to W-1, H-1
    # wsolevaluation layout: images in data/CUB, CUBSmall in its own folder
    os.symlink(cub_root / 'images', data / 'CUB')
    write_wsol_split(str(data / 'metadata' / 'CUB' / 'small'), [dict(
        img_id='007.Parakeet_Auklet/48114872253.jpg', gt_label=2, ori_size=(80, 60),
        gt_bboxes=[[10, 10, 20, 15]])])
    ds = CUBDataset(data_root=str(data), split='test', test_mode=True)
    assert ds.metainfo['classes'][0] == CLASSES[0] and ds.metainfo['classes'][1] == 'class_1'
    assert len(ds.metainfo['classes']) == 200
    assert ds.get_data_info(0)['img_path'].startswith(osp.join(str(data), 'CUB') + os.sep)
    small = CUBDataset(data_root=str(data), split='small', test_mode=True,
                       classes=str(cub_root / 'classes.txt'))
    assert small.get_data_info(0)['img_path'] == osp.join(
        str(data), 'CUBSmall', '007.Parakeet_Auklet', '48114872253.jpg')
    assert small.metainfo['classes'] == tuple(CLASSES)  # from the archive's classes.txt
    # a full pipeline run on the generated images
    ds = CUBDataset(data_root=str(data), split='test', test_mode=True, pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadWSOLAnnotations'),
        dict(type='Resize', scale=(16, 16)), dict(type='PackWSOLInputs')])
    out = ds[0]
    assert tuple(out['inputs'].shape) == (3, 16, 16)
    assert out['data_samples'].gt_bboxes.shape == (1, 4)


def _voc(path, w, h, objects):
    objs = ''.join(f'<object><name>{n}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin>'
                   f'<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>'
                   for n, b in objects)
    path.write_text(f'<annotation><size><width>{w}</width><height>{h}</height>'
                    f'<depth>3</depth></size>{objs}</annotation>')


def test_imagenet_converters_and_dataset(tmp_path):
    synsets = tmp_path / 'LOC_synset_mapping.txt'
    synsets.write_text('n01440764 tench, Tinca tinca\nn01443537 goldfish\n')
    xml_dir = tmp_path / 'xml'
    xml_dir.mkdir()
    _voc(xml_dir / 'ILSVRC2012_val_00000002.xml', 50, 40,
         [('n01443537', (4, 5, 49, 39)), ('n01443537', (0, 0, 50, 12))])
    _voc(xml_dir / 'ILSVRC2012_val_00000001.xml', 30, 20, [('n01440764', (1, 2, 10, 12))])
    meta = tmp_path / 'data' / 'metadata' / 'ILSVRC'
    assert imagenet_val_to_wsol(str(xml_dir), str(synsets), str(meta / 'test')) == 2
    assert (meta / 'test' / 'localization.txt').read_text().splitlines() == [
        'val/ILSVRC2012_val_00000001.JPEG,1,2,10,12',
        'val/ILSVRC2012_val_00000002.JPEG,4,5,49,39',
        'val/ILSVRC2012_val_00000002.JPEG,0,0,49,12']  # xmax 50 clipped to W-1
    ds = ImageNetDataset(data_root=str(tmp_path / 'data'), split='test', test_mode=True)
    assert len(ds) == 2 and ds.num_classes == 1000
    assert ds.get_data_info(1)['gt_label'] == 1 and len(ds.get_data_info(1)['gt_bboxes']) == 2
    for wnid, names in (('n01440764', ['a.JPEG', 'b.JPEG']), ('n01443537', ['c.JPEG'])):
        for n in names:
            _img(str(tmp_path / 'train' / wnid / n), 8, 8)
    assert imagenet_train_to_wsol(str(tmp_path / 'train'), str(synsets), str(meta / 'train')) == 3
    (meta / 'train' / 'image_ids_proxy.txt').write_text('train/n01443537/c.JPEG\n')
    proxy = ImageNetDataset(data_root=str(tmp_path / 'data'), split='train', proxy=True)
    assert [d['img_id'] for d in proxy.load_data_list()] == ['train/n01443537/c.JPEG']
    assert proxy.get_data_info(0)['gt_label'] == 1
    _voc(xml_dir / 'ILSVRC2012_val_00000003.xml', 30, 20, [('n09999999', (1, 2, 10, 12))])
    with pytest.raises(MetadataError, match='val_00000003.xml.*n09999999'):
        imagenet_val_to_wsol(str(xml_dir), str(synsets), str(meta / 'test'))


def test_openimages_dataset_masks(tmp_path):
    data = tmp_path / 'data'
    img_id = 'test/01226z/7af766bd43da900b.jpg'
    _img(str(data / 'OpenImages' / img_id), 12, 10)
    m0 = np.zeros((10, 12), np.uint8)
    m0[2:5, 3:6] = 255
    m1 = np.zeros((10, 12), np.uint8)
    m1[6:9, 6:10] = 255
    ignore = np.zeros((10, 12), np.uint8)
    ignore[:, 9:] = 255
    stem = 'test/01226z/7af766bd43da900b'
    for name, arr in ((f'{stem}_m01226z_a.png', m0), (f'{stem}_m01226z_b.png', m1),
                      (f'{stem}_ignore.png', ignore)):
        cv2.imwrite(str(data / 'OpenImages' / name), arr)
    write_wsol_split(str(data / 'metadata' / 'OpenImages' / 'test'), [dict(
        img_id=img_id, gt_label=3, mask_paths=[f'{stem}_m01226z_a.png', f'{stem}_m01226z_b.png'],
        ignore_path=f'{stem}_ignore.png')], ann_kind='mask')
    lines = (data / 'metadata' / 'OpenImages' / 'test' / 'localization.txt').read_text()
    assert lines.splitlines()[1].endswith('_m01226z_b.png,')  # ignore only on the first line
    ds = OpenImagesDataset(data_root=str(data), split='test', test_mode=True, pipeline=[
        dict(type='LoadImageFromFile'), dict(type='LoadWSOLAnnotations')])
    assert ds.num_classes == 100
    out = ds[0]
    assert out['gt_mask'].sum() == 9 + 12
    # ignore = ignore region minus foreground: columns 9..11 (30 px) minus m1's 3 px there
    assert out['ignore_mask'].sum() == 30 - 3
