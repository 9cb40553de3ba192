"""Writer of wsolevaluation split metadata (the inverse of ``read_wsol_metadata``)."""
import contextlib
import os.path as osp
from typing import Iterable, Optional, Tuple

import cv2

from wsol_mm.fileio import atomic_open
from wsol_mm.utils import DataFileError, MissingFileError


def read_image_size(path: str) -> Tuple[int, int]:
    """``(W, H)`` of an image file, with a clear error if it cannot be read."""
    if not osp.isfile(path):
        raise MissingFileError(f'{path}: image not found (needed for image_sizes.txt; pass '
                               '--no-sizes to skip)')
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise DataFileError(f'{path}: empty, corrupt or not an image (needed for '
                            'image_sizes.txt; pass --no-sizes to skip)')
    return img.shape[1], img.shape[0]


def write_wsol_split(split_dir: str, records: Iterable[dict], ann_kind: str = 'box') -> int:
    """Write ``image_ids.txt``, ``class_labels.txt``, ``image_sizes.txt``, ``localization.txt``.

    Args:
        split_dir (str): output folder (created).
        records (Iterable[dict]): ``img_id``, ``gt_label``, optional ``ori_size``
            ``(W, H)``, ``gt_bboxes`` (inclusive xyxy) or ``mask_paths`` /
            ``ignore_path``.
        ann_kind (str): ``'box'`` or ``'mask'``.

    Returns:
        int: number of images written.
    """
    count = 0
    # Each file appears complete or not at all; a failure keeps the previous files.
    with contextlib.ExitStack() as stack:
        files = {name: stack.enter_context(atomic_open(osp.join(split_dir, f'{name}.txt'), 'w',
                                                       fsync=False))
                 for name in ('image_ids', 'class_labels', 'image_sizes', 'localization')}
        for rec in records:
            img_id = rec['img_id']
            if ',' in img_id:
                raise DataFileError(f'image id {img_id!r} contains a comma; wsolevaluation '
                                    'metadata is comma-separated')
            files['image_ids'].write(f'{img_id}\n')
            files['class_labels'].write(f'{img_id},{int(rec["gt_label"])}\n')
            size: Optional[Tuple[int, int]] = rec.get('ori_size')
            if size is not None:
                files['image_sizes'].write(f'{img_id},{size[0]},{size[1]}\n')
            if ann_kind == 'box':
                for box in rec.get('gt_bboxes', ()):
                    coords = ','.join(str(int(v)) for v in box)
                    files['localization'].write(f'{img_id},{coords}\n')
            else:
                for i, mask in enumerate(rec.get('mask_paths', ())):
                    ignore = (rec.get('ignore_path') or '') if i == 0 else ''
                    files['localization'].write(f'{img_id},{mask},{ignore}\n')
            count += 1
    return count
