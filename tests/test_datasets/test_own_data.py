"""Your own data: COCO json (box, polygon, RLE), its converter, and class folders."""
import glob
import json
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from pycocotools import mask as mask_utils
from script_runner import run_script

from wsol_mm.datasets import ClassFolderDataset, COCOWSOLDataset, MetadataError, WSOLDataset
from wsol_mm.datasets.converters import coco_to_wsol, read_coco_wsol
from wsol_mm.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
W, H = 48, 40


def _rle_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[5:15, 20:41] = 1
    mask[20:30, 22:25] = 1
    return mask


def _crowd_mask() -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    mask[30:38, 2:12] = 1
    return mask


def _uncompressed_rle(mask: np.ndarray) -> dict:
    flat = mask.flatten(order='F')  # COCO RLE runs go down the columns
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return dict(size=[H, W], counts=counts)


def _coco(root: str) -> str:
    """4 tiny images: a box, a polygon (+ a smaller second class), an RLE, a crowd RLE."""
    rng = np.random.default_rng(0)
    names = ['a.jpg', 'sub/b.jpg', 'c.png', 'd.jpg', 'empty.jpg']
    for name in names:
        os.makedirs(osp.dirname(osp.join(root, 'images', name)), exist_ok=True)
        cv2.imwrite(osp.join(root, 'images', name), rng.integers(0, 255, (H, W, 3), np.uint8))
    rle = mask_utils.encode(np.asfortranarray(_rle_mask()))
    coco = dict(
        categories=[dict(id=7, name='dog'), dict(id=1, name='cat')],
        images=[dict(id=10 + i, file_name=n, width=W, height=H) for i, n in enumerate(names)],
        annotations=[
            dict(id=1, image_id=10, category_id=1, bbox=[4.5, 6, 10, 8], iscrowd=0, area=80),
            dict(id=2, image_id=11, category_id=7, bbox=[10, 10, 20, 10], iscrowd=0, area=200,
                 segmentation=[[10, 10, 30, 10, 30, 20, 10, 20]]),
            dict(id=3, image_id=11, category_id=1, bbox=[0, 0, 5, 5], iscrowd=0, area=25),
            dict(id=4, image_id=12, category_id=1, bbox=[20, 5, 21, 25], iscrowd=0, area=240,
                 segmentation=dict(size=[H, W], counts=rle['counts'].decode('ascii'))),
            dict(id=5, image_id=13, category_id=7, bbox=[2, 30, 10, 8], iscrowd=1, area=80,
                 segmentation=_uncompressed_rle(_crowd_mask())),
            dict(id=6, image_id=13, category_id=7, bbox=[30, 2, 10, 10], iscrowd=0, area=100,
                 segmentation=[[30, 2, 40, 2, 40, 12, 30, 12]]),
        ])
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    path = osp.join(root, 'annotations', 'test.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    return path


@pytest.fixture(scope='module')
def own(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('own'))
    return root, _coco(root)


def test_labels_boxes_and_the_multi_category_rule(own):
    _, path = own
    names, recs = read_coco_wsol(path)
    assert names == ('cat', 'dog')  # categories sorted by id
    by_id = {r['img_id']: r for r in recs}
    assert sorted(by_id) == ['a.jpg', 'c.png', 'd.jpg', 'sub/b.jpg']  # no label: left out
    assert by_id['a.jpg']['gt_label'] == 0
    # [x, y, w, h] = [4.5, 6, 10, 8] covers columns 4..14 and rows 6..13 (inclusive)
    assert by_id['a.jpg']['gt_bboxes'] == [[4, 6, 14, 13]]
    # dog (area 200) beats cat (25); only dog's annotation localizes
    assert by_id['sub/b.jpg']['gt_label'] == 1
    assert by_id['sub/b.jpg']['gt_bboxes'] == [[10, 10, 29, 19]]
    # the crowd annotation is not a GT box (it becomes ignore region)
    assert by_id['d.jpg']['gt_bboxes'] == [[30, 2, 39, 11]]
    _, skipped = read_coco_wsol(path, multi_label='skip')
    assert 'sub/b.jpg' not in {r['img_id'] for r in skipped}
    with pytest.raises(MetadataError, match=r"test.json: image 'sub/b.jpg' has annotations "
                       r'of 2 classes'):
        read_coco_wsol(path, multi_label='error')
    names, recs = read_coco_wsol(path, classes=['dog'])  # a subset, in the given order
    assert names == ('dog', ) and {r['img_id'] for r in recs} == {'sub/b.jpg', 'd.jpg'}


@pytest.mark.parametrize('edit, message', [
    (lambda c: c['annotations'][0].update(image_id=99),
     r'annotations\[0\] \(id 1\): image_id 99 is not in "images"'),
    (lambda c: c['annotations'][0].update(bbox=[1, 2, -3, 4]), r'annotations\[0\].*w, h >= 0'),
    (lambda c: c['images'][1].pop('width'), r'images\[1\] needs'),
    (lambda c: c.pop('categories'), "a list 'categories'"),
])
def test_bad_json_gets_one_message_naming_the_entry(own, tmp_path, edit, message):
    _, path = own
    coco = json.load(open(path))
    edit(coco)
    bad = str(tmp_path / 'bad.json')
    json.dump(coco, open(bad, 'w'))
    with pytest.raises(MetadataError, match=message):
        read_coco_wsol(bad)


def test_truncated_json_names_the_line(tmp_path):
    bad = tmp_path / 'cut.json'
    bad.write_text('{"images": [\n{"id": 1,\n')
    with pytest.raises(MetadataError, match=r'cut.json:3: not valid json'):
        read_coco_wsol(str(bad))


def _masks_by_id(root, path):
    ds = COCOWSOLDataset(ann_file=path, data_root=root, data_prefix=dict(img_path='images'),
                         ann_kind='mask', test_mode=True)
    return {ds.get_data_info(i)['img_id']: ds.get_data_info(i) for i in range(len(ds))}


def _masked_json(root: str, path: str) -> str:
    """The COCO file without its box-only image (a mask for every image), next to it."""
    coco = json.load(open(path))
    coco['annotations'] = [a for a in coco['annotations'] if a['image_id'] != 10]
    masked = osp.join(root, 'annotations', 'masks.json')
    with open(masked, 'w') as f:
        json.dump(coco, f)
    return masked


def test_masks_from_polygons_and_rle_and_crowd_ignore(own):
    root, path = own
    with pytest.raises(MetadataError, match="image 'a.jpg' has no segmentation of its class"):
        _masks_by_id(root, path)  # evaluation with masks needs a mask per image
    infos = _masks_by_id(root, _masked_json(root, path))
    assert np.array_equal(infos['c.png']['gt_mask'], _rle_mask())  # compressed RLE: exact
    assert not infos['c.png']['ignore_mask'].any()
    poly = infos['sub/b.jpg']['gt_mask']
    ys, xs = np.nonzero(poly)
    assert (xs.min(), ys.min()) == (10, 10) and 19 <= ys.max() <= 20 and 29 <= xs.max() <= 30
    assert np.array_equal(infos['d.jpg']['ignore_mask'], _crowd_mask())  # uncompressed RLE
    assert infos['d.jpg']['gt_mask'][2:12, 30:40].all()


def _pipelines():
    """Every distinct train / test pipeline of the shipped dataset bases."""
    seen = {}
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'configs/_base_/datasets/*.py'))):
        cfg = Config.fromfile(path)
        for key in ('train_dataloader', 'test_dataloader'):
            pipeline = cfg[key].dataset.get('pipeline')
            if pipeline:
                seen.setdefault(repr(pipeline), (f'{osp.basename(path)}:{key}', pipeline))
    return list(seen.values())


@pytest.mark.parametrize('name, pipeline', _pipelines(), ids=lambda x: x if isinstance(
    x, str) else '')
def test_every_config_pipeline_runs_on_own_data(own, name, pipeline, tmp_path):
    register_all_modules()
    root, path = own
    folders = tmp_path / 'folders'
    for cls in ('cat', 'dog'):
        os.makedirs(folders / cls)
        cv2.imwrite(str(folders / cls / 'x.jpg'), np.full((H, W, 3), 9, np.uint8))
    for ds in (COCOWSOLDataset(ann_file=path, data_root=root, pipeline=pipeline,
                               data_prefix=dict(img_path='images')),
               ClassFolderDataset(data_root=str(folders), pipeline=pipeline)):
        for i in range(len(ds)):
            out = ds[i]
            assert out['inputs'].dtype == torch.uint8 and out['inputs'].shape[0] == 3
            sample = out['data_samples']
            assert int(sample.gt_label) == ds.get_data_info(i)['gt_label']
            if 'gt_bboxes' in sample:
                assert sample.gt_bboxes.dtype == torch.float32 and sample.gt_bboxes.shape[1] == 4


def test_converter_output_gives_the_same_samples(own, tmp_path):
    """COCOWSOLDataset and WSOLDataset over the converted metadata agree sample by sample."""
    register_all_modules()
    root, path = own
    test_pipeline = Config.fromfile(osp.join(
        REPO_ROOT, 'configs/_base_/datasets/wsolevaluation_224.py')).test_pipeline
    out = str(tmp_path / 'metadata' / 'test')
    assert coco_to_wsol(path, out) == 4
    direct = COCOWSOLDataset(ann_file=path, data_root=root, test_mode=True,
                             data_prefix=dict(img_path='images'), pipeline=test_pipeline)
    converted = WSOLDataset(ann_file=out, data_prefix=dict(img_path=osp.join(root, 'images')),
                            classes=osp.join(out, 'class_names.txt'), test_mode=True,
                            pipeline=test_pipeline)
    assert direct.metainfo['classes'] == converted.metainfo['classes'] == ('cat', 'dog')
    assert len(direct) == len(converted) == 4
    for i in range(4):
        a, b = direct[i]['data_samples'], converted[i]['data_samples']
        assert a.img_id == b.img_id and int(a.gt_label) == int(b.gt_label)
        assert torch.equal(a.gt_bboxes, b.gt_bboxes) and a.ori_shape == b.ori_shape
        assert torch.equal(direct[i]['inputs'], converted[i]['inputs'])


def test_converter_masks_match_the_direct_dataset(own, tmp_path):
    register_all_modules()
    root, path = own
    masked = _masked_json(root, path)  # not left by another test: any order, any worker
    out = str(tmp_path / 'masks_split')
    coco_to_wsol(masked, out, ann_kind='mask')
    converted = WSOLDataset(ann_file=out, data_prefix=dict(img_path=osp.join(root, 'images'),
                                                           mask_path=osp.join(out, 'masks')),
                            ann_kind='mask', num_classes=2, test_mode=True,
                            pipeline=[dict(type='LoadImageFromFile'),
                                      dict(type='LoadWSOLAnnotations'),
                                      dict(type='PackWSOLInputs')])
    direct = COCOWSOLDataset(ann_file=masked, data_root=root, ann_kind='mask', test_mode=True,
                             data_prefix=dict(img_path='images'),
                             pipeline=converted.pipeline.transforms)
    for i in range(len(direct)):
        a, b = direct[i]['data_samples'], converted[i]['data_samples']
        assert torch.equal(a.gt_mask, b.gt_mask) and torch.equal(a.ignore_mask, b.ignore_mask)


def _tool(args):
    return run_script([sys.executable, 'tools/dataset_converters/coco.py'] + args,
                      timeout=300)


def test_converter_cli_and_no_half_written_output(own, tmp_path):
    _, path = own
    out = str(tmp_path / 'split')
    run = _tool([path, out])
    assert run.returncode == 0, run.stderr
    assert '4 images' in run.stdout
    before = open(osp.join(out, 'localization.txt')).read()
    again = _tool([path, out, '--multi-label', 'skip'])
    assert again.returncode == 1 and '--overwrite' in again.stderr
    assert 'Traceback' not in again.stderr
    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": []')
    with pytest.raises(MetadataError, match='bad.json:1: not valid json'):
        coco_to_wsol(str(bad), out, overwrite=True)
    assert open(osp.join(out, 'localization.txt')).read() == before
    assert not glob.glob(out + '.tmp-*')
    assert coco_to_wsol(path, out, multi_label='skip', overwrite=True) == 3
    assert len(open(osp.join(out, 'image_ids.txt')).read().split()) == 3


def test_class_folders(tmp_path):
    for rel in ('zebra/1.jpg', 'ant/deep/2.PNG', 'ant/3.jpg', 'ant/notes.txt', 'bee/4.jpg'):
        os.makedirs(osp.dirname(tmp_path / 'train' / rel), exist_ok=True)
        cv2.imwrite(str(tmp_path / 'train' / rel), np.zeros((8, 8, 3), np.uint8)) \
            if not rel.endswith('.txt') else (tmp_path / 'train' / rel).write_text('x')
    ds = ClassFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='train'))
    assert ds.metainfo['classes'] == ('ant', 'bee', 'zebra')
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [(i['img_id'], i['gt_label']) for i in infos] == [
        ('ant/3.jpg', 0), ('ant/deep/2.PNG', 0), ('bee/4.jpg', 1), ('zebra/1.jpg', 2)]
    assert infos[0]['gt_bboxes'].shape == (0, 4)
    subset = ClassFolderDataset(data_root=str(tmp_path / 'train'), classes=['zebra', 'ant'])
    assert [subset.get_data_info(i)['gt_label'] for i in range(len(subset))] == [0, 1, 1]
    by_split = ClassFolderDataset(data_root=str(tmp_path), data_prefix=dict(img_path='{split}'),
                                  split='train')
    assert len(by_split) == 4
    with pytest.raises(MetadataError, match=r"no class folder for \['cow'\]"):
        ClassFolderDataset(data_root=str(tmp_path / 'train'), classes=['cow'])


def test_readme_config_pattern_inherits_the_pipeline_and_split(own, tmp_path):
    """data/README.md's config: a CUB model config whose test data is a COCO json."""
    register_all_modules()
    root, path = own
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write('cat\ndog\n')
    cfg_file = tmp_path / 'mine.py'
    cfg_file.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, 'configs/cam/resnet50_cub.py')!r}]\n"
        "test_dataloader = dict(dataset=dict(\n"
        f"    type='COCOWSOLDataset', data_root={root!r}, ann_file='annotations/{{split}}.json',\n"
        "    data_prefix=dict(img_path='images'), classes='classes.txt'))\n")
    cfg = Config.fromfile(str(cfg_file))
    from wsol_mm.registry import DATASETS
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    assert ds.split == 'test' and ds.test_mode and len(ds) == 4
    sample = ds[0]
    assert sample['inputs'].shape == (3, 224, 224)  # the CUB config's test pipeline
    assert sample['data_samples'].gt_bboxes.shape == (1, 4)
