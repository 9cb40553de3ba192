"""The one reader of wsolevaluation split metadata (datasets and eval_cams.py), line-precise errors.

A split folder holds ``image_ids.txt``, ``class_labels.txt`` (``id,label``),
``image_sizes.txt`` (``id,W,H``; may be empty, as for OpenImages) and
``localization.txt`` (``id,x0,y0,x1,y1`` per box, or ``id,mask_path,ignore_path``
per instance mask).
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple


class MetadataError(ValueError):
    """A metadata file is malformed; the message names the file and line."""


def read_rows(path: str, num_fields: int, required: bool = True, sep: Optional[str] = ',',
              missing_hint: str = 'every split folder needs it (see data/README.md for the '
              'layout)') -> List[Tuple[int, List[str]]]:
    """Non-empty lines of a text table as ``(line number, fields)``.

    Args:
        path (str): the file.
        num_fields (int): fields every line must have.
        required (bool): a missing file is an error (else no rows). Defaults to True.
        sep (str, optional): field separator; None = any whitespace. Defaults to ','.
        missing_hint (str): what the missing-file error says after the path.

    Raises:
        MetadataError: naming the file (and line) on a missing file or a bad line.
    """
    if not osp.isfile(path):
        if required:
            raise MetadataError(f'{path}: file not found; {missing_hint}')
        return []
    kind = 'comma' if sep == ',' else 'space' if sep is None else repr(sep)
    rows = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            fields = [x.strip() for x in line.split(sep)]
            if len(fields) != num_fields:
                raise MetadataError(f'{path}:{lineno}: expected {num_fields} {kind}-separated '
                                    f'fields, got {len(fields)}: {line!r}')
            rows.append((lineno, fields))
    return rows


def to_number(path: str, lineno: int, value: str, kind=int):
    """``kind(value)``, or a ``MetadataError`` naming ``path:lineno``."""
    try:
        return kind(value)
    except ValueError:
        raise MetadataError(f'{path}:{lineno}: {value!r} is not a valid '
                            f'{kind.__name__}') from None


def read_wsol_metadata(split_dir: str, ann_kind: str = 'box',
                       require_localization: bool = True) -> List[dict]:
    """Read one split folder into a list of records in ``image_ids.txt`` order.

    Args:
        split_dir (str): folder with the metadata files of one split.
        ann_kind (str): ``'box'`` or ``'mask'`` (format of ``localization.txt``).
        require_localization (bool): every image must have at least one box or
            mask line (evaluation splits). Defaults to True.

    Returns:
        list[dict]: ``img_id``, ``gt_label``, ``ori_size`` (``(W, H)`` or None),
        ``gt_bboxes`` (list of 4-lists) or ``mask_paths`` / ``ignore_path``, and
        ``line`` (the id's line in ``image_ids.txt``).

    Raises:
        MetadataError: on any bad line or missing entry; the message names the
            file and, where there is one, the line.
    """
    if ann_kind not in ('box', 'mask'):
        raise ValueError(f"ann_kind must be 'box' or 'mask', got {ann_kind!r}")
    ids_file = osp.join(split_dir, 'image_ids.txt')
    records: Dict[str, dict] = OrderedDict()
    for lineno, (img_id, ) in read_rows(ids_file, 1):
        if img_id in records:
            raise MetadataError(f'{ids_file}:{lineno}: duplicate image id {img_id!r}')
        records[img_id] = dict(img_id=img_id, gt_label=None, ori_size=None, gt_bboxes=[],
                               mask_paths=[], ignore_path=None, line=lineno)
    if not records:
        raise MetadataError(f'{ids_file}: the split is empty (no image id); check the '
                            'metadata path or regenerate the split')

    def lookup(path: str, lineno: int, img_id: str) -> dict:
        if img_id not in records:
            raise MetadataError(f'{path}:{lineno}: image id {img_id!r} is not listed in '
                                f'{ids_file}; the metadata files of a split must agree')
        return records[img_id]

    labels_file = osp.join(split_dir, 'class_labels.txt')
    for lineno, (img_id, label) in read_rows(labels_file, 2):
        lookup(labels_file, lineno, img_id)['gt_label'] = to_number(labels_file, lineno, label)

    sizes_file = osp.join(split_dir, 'image_sizes.txt')
    for lineno, (img_id, w, h) in read_rows(sizes_file, 3, required=False):
        size = (to_number(sizes_file, lineno, w), to_number(sizes_file, lineno, h))
        lookup(sizes_file, lineno, img_id)['ori_size'] = size

    loc_file = osp.join(split_dir, 'localization.txt')
    _read_localization(loc_file, ann_kind, lookup, require_localization)

    for rec in records.values():
        where = f'{ids_file}:{rec["line"]}: image id {rec["img_id"]!r}'
        if rec['gt_label'] is None:
            raise MetadataError(f'{where} of this split has no class label line in '
                                f'{labels_file}')
        if require_localization and not (rec['gt_bboxes'] or rec['mask_paths']):
            raise MetadataError(f'{where} has no {ann_kind} annotation in {loc_file}; '
                                'evaluation splits need one per image')
    return list(records.values())


def _read_localization(path: str, ann_kind: str, lookup, required: bool) -> None:
    num_fields = 5 if ann_kind == 'box' else 3
    for lineno, fields in read_rows(path, num_fields, required=required):
        rec = lookup(path, lineno, fields[0])
        if ann_kind == 'mask':
            mask_path, ignore_path = fields[1], fields[2]
            if ignore_path and rec['mask_paths']:
                raise MetadataError(f'{path}:{lineno}: the ignore path may only be given on the '
                                    f'first line of image {fields[0]!r}')
            rec['mask_paths'].append(mask_path)
            if ignore_path:
                rec['ignore_path'] = ignore_path
            continue
        x0, y0, x1, y1 = (to_number(path, lineno, v, float) for v in fields[1:])
        if x1 < x0 or y1 < y0 or x0 < 0 or y0 < 0:
            raise MetadataError(f'{path}:{lineno}: box {fields[1:]} must satisfy '
                                '0 <= x0 <= x1 and 0 <= y0 <= y1 (inclusive xyxy pixels)')
        size: Optional[Tuple[int, int]] = rec['ori_size']
        if size is not None and (x1 > size[0] - 1 or y1 > size[1] - 1):
            raise MetadataError(f'{path}:{lineno}: box {fields[1:]} lies outside the image '
                                f'of size W={size[0]}, H={size[1]} (x1 <= W-1, y1 <= H-1)')
        rec['gt_bboxes'].append([x0, y0, x1, y1])
