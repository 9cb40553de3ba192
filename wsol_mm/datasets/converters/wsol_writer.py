"""Writer of wsolevaluation split metadata (the inverse of ``read_wsol_metadata``)."""
import os
import os.path as osp
from typing import Iterable, Optional, Tuple

import cv2


def read_image_size(path: str) -> Tuple[int, int]:
    """``(W, H)`` of an image file, with a clear error if it cannot be read."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f'{path}: image missing or not decodable (needed for '
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
    os.makedirs(split_dir, exist_ok=True)
    files = {name: open(osp.join(split_dir, f'{name}.txt'), 'w', encoding='utf-8')
             for name in ('image_ids', 'class_labels', 'image_sizes', 'localization')}
    count = 0
    try:
        for rec in records:
            img_id = rec['img_id']
            if ',' in img_id:
                raise ValueError(f'image id {img_id!r} contains a comma; wsolevaluation '
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
    finally:
        for f in files.values():
            f.close()
    return count
