"""COCO-style json (boxes, polygons, RLE masks) -> WSOL records / wsolevaluation metadata.

One reader serves :class:`~wsol_mm.datasets.COCOWSOLDataset` and the converter
(``tools/dataset_converters/coco.py``), so both give the same labels and boxes.

Rules (documented in data/README.md):

* **Classes**: the json's categories sorted by id, or the names given in
  ``classes`` (their order = the label ids; annotations of other categories are
  ignored, so a model's class list can be reused).
* **Image-level label**: the one category of the image's annotations. An image
  with several categories gets, by ``multi_label``: ``'largest'`` (default) the
  category with the largest total annotated area (``area``, else box area;
  ties: the lower label); ``'skip'``: the image is left out; ``'error'``: it is
  an error. Images without annotations of the classes are left out (they have no
  label).
* **Localization**: only the annotations of the label's category. Boxes
  ``[x, y, w, h]`` become inclusive pixel corners ``floor(x), floor(y),
  ceil(x + w) - 1, ceil(y + h) - 1`` clipped to the image. Masks: the union of
  the non-crowd segmentations (polygons or RLE) is the object; crowd
  (``iscrowd=1``) segmentations and the boxes of annotations without a
  segmentation form the ignore region (as OpenImages' ignore masks).
"""
import json
import math
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from wsol_mm.fileio.atomic_write import temp_sibling

from ..metadata import MetadataError
from .wsol_writer import write_wsol_split

MULTI_LABEL_RULES = ('largest', 'skip', 'error')


def load_coco_json(path: str) -> dict:
    """The parsed json, or one error naming the file (and line) on bad input."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'COCO annotation file {path} not found (key `ann_file`, '
                                'relative to `data_root`)')
    with open(path, encoding='utf-8') as f:
        try:
            coco = json.load(f)
        except json.JSONDecodeError as err:
            raise MetadataError(f'{path}:{err.lineno}: not valid json ({err.msg}, column '
                                f'{err.colno})') from None
    for key in ('images', 'annotations', 'categories'):
        if not isinstance(coco, dict) or not isinstance(coco.get(key), list):
            raise MetadataError(f'{path}: a COCO file needs a list {key!r} at the top level')
    return coco


def coco_class_names(coco: dict, path: str,
                     classes: Optional[Sequence[str]] = None) -> Tuple[str, ...]:
    """Class names in label order: ``classes`` (checked against the json) or the categories."""
    names = {}
    for i, cat in enumerate(coco['categories']):
        if not isinstance(cat, dict) or 'id' not in cat or 'name' not in cat:
            raise MetadataError(f'{path}: categories[{i}] needs an "id" and a "name"')
        names[cat['id']] = str(cat['name'])
    if classes is None:
        return tuple(names[k] for k in sorted(names))
    unknown = [c for c in classes if c not in names.values()]
    if unknown:
        raise MetadataError(f'{path}: class(es) {unknown} of `classes` are not category names '
                            f'of the file; its categories are {sorted(names.values())}')
    return tuple(classes)


def coco_box_to_xyxy(bbox: Sequence[float], size: Tuple[int, int]) -> List[int]:
    """COCO ``[x, y, w, h]`` (continuous) -> inclusive pixel ``[x0, y0, x1, y1]`` in ``(W, H)``."""
    x, y, w, h = (float(v) for v in bbox)
    width, height = size
    x0 = min(max(int(math.floor(x)), 0), width - 1)
    y0 = min(max(int(math.floor(y)), 0), height - 1)
    x1 = min(max(int(math.ceil(x + w)) - 1, x0), width - 1)
    y1 = min(max(int(math.ceil(y + h)) - 1, y0), height - 1)
    return [x0, y0, x1, y1]


def decode_segmentation(segm, height: int, width: int) -> np.ndarray:
    """Polygons, uncompressed or compressed RLE -> ``(H, W)`` uint8 mask (1 = object)."""
    from pycocotools import mask as mask_utils
    if isinstance(segm, list):  # polygons [[x0, y0, x1, y1, ...], ...]
        rle = mask_utils.merge(mask_utils.frPyObjects(segm, height, width))
    elif isinstance(segm, dict) and isinstance(segm.get('counts'), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    elif isinstance(segm, dict) and isinstance(segm.get('counts'), (str, bytes)):
        counts = segm['counts']
        rle = dict(size=list(segm['size']),
                   counts=counts.encode('ascii') if isinstance(counts, str) else counts)
    else:
        raise ValueError('segmentation must be a polygon list or an RLE dict with "counts"')
    mask = mask_utils.decode(rle)
    if mask.shape[:2] != (height, width):
        raise ValueError(f'RLE size {mask.shape[1]}x{mask.shape[0]} is not the image size '
                         f'{width}x{height}')
    return mask.astype(np.uint8)


def _annotation_area(ann: dict) -> float:
    if isinstance(ann.get('area'), (int, float)):
        return float(ann['area'])
    return float(ann['bbox'][2]) * float(ann['bbox'][3]) if ann.get('bbox') else 0.0


def read_coco_wsol(path: str, classes: Optional[Sequence[str]] = None,
                   multi_label: str = 'largest', require_localization: bool = False,
                   ann_kind: str = 'box',
                   coco: Optional[dict] = None) -> Tuple[Tuple[str, ...], List[dict]]:
    """Records of a COCO json, one per labelled image, in ``images`` order.

    Args:
        path (str): the json file (named in errors).
        classes (Sequence[str], optional): class names in label order (see module doc).
        multi_label (str): ``'largest'``, ``'skip'`` or ``'error'`` (see module doc).
        require_localization (bool): every kept image needs a box (``ann_kind='box'``)
            or an object mask (``'mask'``), as evaluation splits do.
        ann_kind (str): ``'box'`` or ``'mask'``.
        coco (dict, optional): the already parsed json.

    Returns:
        tuple: class names, and records with ``img_id`` (the ``file_name``),
        ``gt_label``, ``ori_size`` ``(W, H)``, ``gt_bboxes`` (inclusive xyxy),
        ``segms`` / ``ignore_segms`` (segmentations; boxes as ``[x, y, w, h]``
        dicts ``{'box': ...}`` in ``ignore_segms``) and ``coco_id``.
    """
    if multi_label not in MULTI_LABEL_RULES:
        raise ValueError(f'multi_label must be one of {MULTI_LABEL_RULES}, got {multi_label!r}')
    coco = coco if coco is not None else load_coco_json(path)
    names = coco_class_names(coco, path, classes)
    cat_label = {cat['id']: names.index(str(cat['name'])) for cat in coco['categories']
                 if str(cat['name']) in names}
    images: Dict[object, dict] = {}
    for i, img in enumerate(coco['images']):
        if not isinstance(img, dict) or not all(k in img for k in ('id', 'file_name', 'width',
                                                                  'height')):
            raise MetadataError(f'{path}: images[{i}] needs "id", "file_name", "width" and '
                                '"height"')
        if img['id'] in images:
            raise MetadataError(f'{path}: images[{i}] repeats image id {img["id"]}')
        if ',' in str(img['file_name']):
            raise MetadataError(f'{path}: images[{i}] file_name {img["file_name"]!r} contains '
                                'a comma (wsolevaluation metadata is comma-separated)')
        images[img['id']] = dict(img=img, anns=[])
    for i, ann in enumerate(coco['annotations']):
        where = f'{path}: annotations[{i}] (id {ann.get("id") if isinstance(ann, dict) else "?"})'
        if not isinstance(ann, dict) or 'image_id' not in ann or 'category_id' not in ann:
            raise MetadataError(f'{where} needs "image_id" and "category_id"')
        if ann['image_id'] not in images:
            raise MetadataError(f'{where}: image_id {ann["image_id"]} is not in "images"')
        if ann['category_id'] not in cat_label:
            continue  # a category outside `classes`
        bbox = ann.get('bbox')
        if bbox is not None and (len(bbox) != 4 or min(float(v) for v in bbox[2:]) < 0):
            raise MetadataError(f'{where}: bbox {bbox} must be [x, y, w, h] with w, h >= 0')
        if bbox is None and not ann.get('segmentation'):
            raise MetadataError(f'{where} has neither "bbox" nor "segmentation"')
        images[ann['image_id']]['anns'].append(ann)
    records = []
    for entry in images.values():
        rec = _image_record(entry['img'], entry['anns'], cat_label, multi_label, path)
        if rec is None:
            continue
        if require_localization and not rec['gt_bboxes' if ann_kind == 'box' else 'segms']:
            raise MetadataError(f'{path}: image {rec["img_id"]!r} has no '
                                f'{"box" if ann_kind == "box" else "segmentation"} of its '
                                f'class {names[rec["gt_label"]]!r}; evaluation splits need one '
                                'per image (use ann_kind="box", or drop the image)')
        records.append(rec)
    if not records:
        raise MetadataError(f'{path}: no image has an annotation of the classes {list(names)}')
    return names, records


def _image_record(img: dict, anns: List[dict], cat_label: dict, multi_label: str,
                  path: str) -> Optional[dict]:
    if not anns:
        return None
    area: Dict[int, float] = {}
    for ann in anns:
        label = cat_label[ann['category_id']]
        area[label] = area.get(label, 0.0) + _annotation_area(ann)
    if len(area) > 1 and multi_label != 'largest':
        if multi_label == 'skip':
            return None
        raise MetadataError(f'{path}: image {img["file_name"]!r} has annotations of '
                            f'{len(area)} classes (labels {sorted(area)}); set multi_label='
                            "'largest' or 'skip'")
    label = max(sorted(area), key=lambda k: area[k])  # sorted: ties go to the lower label
    size = (int(img['width']), int(img['height']))
    rec = dict(img_id=str(img['file_name']), gt_label=label, ori_size=size, gt_bboxes=[],
               segms=[], ignore_segms=[], coco_id=img['id'])
    for ann in anns:
        if cat_label[ann['category_id']] != label:
            continue
        segm = ann.get('segmentation')
        bbox = ann.get('bbox')
        if bbox is None:
            bbox = _bbox_of(segm, size)
        if not ann.get('iscrowd'):
            rec['gt_bboxes'].append(coco_box_to_xyxy(bbox, size))
        if segm and not ann.get('iscrowd'):
            rec['segms'].append(segm)
        else:
            rec['ignore_segms'].append(segm if segm else dict(box=list(bbox)))
    if not rec['gt_bboxes']:  # only crowd annotations: their boxes are the object
        rec['gt_bboxes'] = [coco_box_to_xyxy(b, size) for b in
                            (a.get('bbox') or _bbox_of(a.get('segmentation'), size)
                             for a in anns if cat_label[a['category_id']] == label)]
    return rec


def _bbox_of(segm, size: Tuple[int, int]) -> List[float]:
    ys, xs = np.nonzero(decode_segmentation(segm, size[1], size[0]))
    if not len(xs):
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1),
            float(ys.max() - ys.min() + 1)]


def record_masks(rec: dict, path: str = '') -> Tuple[np.ndarray, np.ndarray]:
    """``(object, ignore)`` uint8 masks of a record at its original size."""
    width, height = rec['ori_size']
    fg = np.zeros((height, width), np.uint8)
    ignore = np.zeros((height, width), np.uint8)
    for target, segms in ((fg, rec['segms']), (ignore, rec['ignore_segms'])):
        for segm in segms:
            if isinstance(segm, dict) and 'box' in segm:
                x0, y0, x1, y1 = coco_box_to_xyxy(segm['box'], (width, height))
                target[y0:y1 + 1, x0:x1 + 1] = 1
                continue
            try:
                target |= decode_segmentation(segm, height, width)
            except (ValueError, TypeError) as err:
                raise MetadataError(f'{path}: image {rec["img_id"]!r}: bad segmentation '
                                    f'({err})') from None
    ignore[fg > 0] = 0
    return fg, ignore


def coco_to_wsol(path: str, out_dir: str, ann_kind: str = 'box',
                 classes: Optional[Sequence[str]] = None, multi_label: str = 'largest',
                 overwrite: bool = False) -> int:
    """Write one wsolevaluation split folder (+ ``class_names.txt``) from a COCO json.

    With ``ann_kind='mask'`` the object and ignore masks are written as PNGs
    (255 = object) under ``<out_dir>/masks``, named ``<image path without
    extension>_m0.png`` (union of the instances) / ``_ignore.png``, and listed in
    ``localization.txt`` relative to that folder (the dataset's
    ``data_prefix.mask_path``). Everything is written to a temporary folder
    first: a failure leaves no half-written split, and an existing ``out_dir``
    is only replaced with ``overwrite=True``.

    Returns:
        int: number of images written.
    """
    if ann_kind not in ('box', 'mask'):
        raise ValueError(f"ann_kind must be 'box' or 'mask', got {ann_kind!r}")
    if osp.exists(out_dir) and os.listdir(out_dir) and not overwrite:
        raise FileExistsError(f'{out_dir} exists and is not empty; pass --overwrite to '
                              'replace it')
    names, records = read_coco_wsol(path, classes, multi_label, require_localization=True,
                                    ann_kind=ann_kind)
    tmp = temp_sibling(out_dir.rstrip(os.sep), hidden=False)  # recognised by the cleanup
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if ann_kind == 'mask':
            mask_root = osp.join(tmp, 'masks')
            for rec in records:
                rec['mask_paths'], rec['ignore_path'] = _write_masks(rec, mask_root, path)
        count = write_wsol_split(tmp, records, ann_kind)
        with open(osp.join(tmp, 'class_names.txt'), 'w', encoding='utf-8') as f:
            f.writelines(f'{name}\n' for name in names)
        if osp.exists(out_dir):
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return count


def _write_masks(rec: dict, mask_root: str, path: str) -> Tuple[List[str], Optional[str]]:
    fg, ignore = record_masks(rec, path)
    stem = osp.splitext(rec['img_id'])[0]
    os.makedirs(osp.dirname(osp.join(mask_root, stem)) or mask_root, exist_ok=True)
    mask_rel = f'{stem}_m0.png'
    cv2.imwrite(osp.join(mask_root, mask_rel), fg * 255)
    ignore_rel = None
    if ignore.any():
        ignore_rel = f'{stem}_ignore.png'
        cv2.imwrite(osp.join(mask_root, ignore_rel), ignore * 255)
    return [mask_rel], ignore_rel
