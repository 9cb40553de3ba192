"""Native CUB-200-2011 files -> records / wsolevaluation metadata.

Native files (``CUB_200_2011/``): ``images.txt`` (``<id> <class>/<file>.jpg``),
``image_class_labels.txt`` (``<id> <class 1..200>``), ``train_test_split.txt``
(``<id> <1 train | 0 test>``), ``bounding_boxes.txt`` (``<id> <x> <y> <w> <h>``,
floats) and ``classes.txt`` (``<class id> <name>``). Images under ``images/``.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

from ..metadata import MetadataError, read_rows, to_number
from .wsol_writer import read_image_size, write_wsol_split

CUB_SPLITS = {'train': 1, 'test': 0}


def _read_table(path: str, num_fields: int) -> List[Tuple[int, List[str]]]:
    return read_rows(path, num_fields, sep=None,
                     missing_hint='the native CUB_200_2011 folder needs images.txt, '
                     'image_class_labels.txt, train_test_split.txt, bounding_boxes.txt '
                     'and classes.txt')


def read_cub_classes(path: str) -> Tuple[str, ...]:
    """Class names of ``classes.txt`` (``<id> <name>``, ids 1..C in order)."""
    names = []
    for lineno, (idx, name) in _read_table(path, 2):
        if to_number(path, lineno, idx) != len(names) + 1:
            raise MetadataError(f'{path}:{lineno}: class id {idx} out of order; expected '
                                f'{len(names) + 1}')
        names.append(name)
    return tuple(names)


def cub_box_to_xyxy(x: float, y: float, w: float, h: float,
                    size: Optional[Tuple[int, int]] = None) -> List[int]:
    """Native ``x, y, w, h`` -> wsolevaluation ``x0, y0, x1, y1``.

    wsolevaluation's CUB metadata stores ``(int(x), int(y), int(x + w),
    int(y + h))`` (e.g. native ``139 30 153 264`` -> ``139,30,292,294``); with a
    known size the far corner is clipped to ``W-1`` / ``H-1`` (inclusive pixels).
    """
    box = [int(x), int(y), int(x + w), int(y + h)]
    if size is not None:
        box[2] = min(box[2], size[0] - 1)
        box[3] = min(box[3], size[1] - 1)
    return box


def read_cub_native(root: str, split: str, with_sizes: bool = False) -> List[dict]:
    """Records of one native split (``'train'`` or ``'test'``) in ``images.txt`` order.

    Args:
        root (str): the ``CUB_200_2011`` folder.
        split (str): ``'train'`` or ``'test'``.
        with_sizes (bool): read every image to fill ``ori_size`` and clip boxes.

    Returns:
        list[dict]: ``img_id`` (path under ``images/``), ``gt_label`` (0-based),
        ``ori_size`` and ``gt_bboxes`` (one inclusive xyxy box).
    """
    if split not in CUB_SPLITS:
        raise ValueError(f'native CUB has splits {sorted(CUB_SPLITS)}, got {split!r} (CUBV2 '
                         "'val' and CUBSmall 'small' exist only as wsolevaluation metadata)")
    files = {k: osp.join(root, f'{k}.txt') for k in
             ('images', 'image_class_labels', 'train_test_split', 'bounding_boxes')}
    images: Dict[str, Tuple[int, str]] = {}
    for lineno, (idx, rel) in _read_table(files['images'], 2):
        if idx in images:
            raise MetadataError(f'{files["images"]}:{lineno}: duplicate image id {idx}')
        images[idx] = (lineno, rel)

    def column(name: str, num_fields: int) -> Dict[str, Tuple[int, List[str]]]:
        out = {}
        for lineno, fields in _read_table(files[name], num_fields):
            if fields[0] not in images:
                raise MetadataError(f'{files[name]}:{lineno}: image id {fields[0]} is not in '
                                    f'{files["images"]}')
            out[fields[0]] = (lineno, fields[1:])
        missing = set(images) - set(out)
        if missing:
            raise MetadataError(f'{files[name]}: no line for image id(s) '
                                f'{sorted(missing, key=int)[:5]}')
        return out

    labels = column('image_class_labels', 2)
    is_train = column('train_test_split', 2)
    boxes = column('bounding_boxes', 5)
    records = []
    for idx, (_, rel) in images.items():
        lineno, (flag, ) = is_train[idx]
        if to_number(files['train_test_split'], lineno, flag) != CUB_SPLITS[split]:
            continue
        lineno, (label, ) = labels[idx]
        label = to_number(files['image_class_labels'], lineno, label) - 1
        if label < 0:
            raise MetadataError(f'{files["image_class_labels"]}:{lineno}: class ids start at 1')
        lineno, xywh = boxes[idx]
        x, y, w, h = (to_number(files['bounding_boxes'], lineno, v, float) for v in xywh)
        if w < 0 or h < 0 or x < 0 or y < 0:
            raise MetadataError(f'{files["bounding_boxes"]}:{lineno}: negative box {xywh}')
        size = read_image_size(osp.join(root, 'images', rel)) if with_sizes else None
        records.append(dict(img_id=rel, gt_label=label, ori_size=size,
                            gt_bboxes=[cub_box_to_xyxy(x, y, w, h, size)]))
    return records


def cub_to_wsol(root: str, out_dir: str, splits=('train', 'test'),
                with_sizes: bool = True) -> Dict[str, int]:
    """Write ``<out_dir>/<split>/*.txt`` for the native splits; returns images per split."""
    return {split: write_wsol_split(osp.join(out_dir, split),
                                    read_cub_native(root, split, with_sizes))
            for split in splits}
