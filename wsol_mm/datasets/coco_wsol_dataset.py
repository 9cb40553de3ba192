"""A WSOL split read directly from a COCO-style json (boxes, polygons, RLE masks)."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np

from wsol_mm.registry import DATASETS

from .converters.coco import (
    MULTI_LABEL_RULES,
    coco_class_names,
    load_coco_json,
    read_coco_wsol,
    record_masks,
)
from .wsol_dataset import WSOLDataset


@DATASETS.register_module()
class COCOWSOLDataset(WSOLDataset):
    """Images and annotations of a COCO json, as one WSOL split.

    Each image gets ONE image-level label; only the annotations of that class
    are its localization ground truth (the rules, shared with the converter
    ``tools/dataset_converters/coco.py``, are in
    :mod:`wsol_mm.datasets.converters.coco` and data/README.md):

    * label = the image's category; with several categories ``multi_label``
      decides: ``'largest'`` total annotated area (default), ``'skip'`` the
      image, or ``'error'``. Images without annotations are left out.
    * ``ann_kind='box'``: ``gt_bboxes`` = the non-crowd boxes of the label's
      category (inclusive pixel corners).
    * ``ann_kind='mask'``: in addition ``gt_mask`` = union of the non-crowd
      segmentations (polygons or RLE, decoded with pycocotools) and
      ``ignore_mask`` = crowd segmentations and box-only annotations, decoded
      when an item is fetched (the data list keeps the compact json form).

    The samples follow the :class:`WSOLDataset` contract, so every config's
    pipeline (``LoadImageFromFile``, ``LoadWSOLAnnotations``, geometric
    transforms, ``PackWSOLInputs``) and the box / PxAP metrics apply unchanged.

    Args:
        ann_file (str): the json, relative to ``data_root`` unless absolute;
            ``{split}`` in it is replaced by ``split``.
        data_root (str): dataset root. Defaults to ''.
        data_prefix (dict, optional): ``img_path`` = folder the ``file_name``
            entries are relative to. Defaults to ``dict(img_path='')``.
        ann_kind (str): ``'box'`` or ``'mask'``. Defaults to ``'box'``.
        classes (Sequence[str] | str, optional): class names in label order (a
            list or a file with one name per line); must be category names of the
            json; annotations of other categories are ignored. Defaults to all
            categories sorted by id.
        multi_label (str): rule for images with several categories.
            Defaults to ``'largest'``.
        split (str, optional): fills ``{split}`` in ``ann_file``, so one dataset
            dict (``ann_file='annotations/{split}.json'``) serves the train, val
            and test loaders of a config that inherits their ``split``.
        **kwargs: passed to :class:`WSOLDataset` / mmengine ``BaseDataset``
            (``pipeline``, ``test_mode``, ``indices`` ...).

    Examples:
        >>> ds = COCOWSOLDataset(ann_file='annotations/test.json', data_root='data/mine',
        ...                      data_prefix=dict(img_path='images'), test_mode=True,
        ...                      pipeline=[...])  # doctest: +SKIP
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 ann_kind: str = 'box',
                 classes: Union[Sequence[str], str, None] = None,
                 multi_label: str = 'largest',
                 split: Optional[str] = None,
                 **kwargs) -> None:
        if multi_label not in MULTI_LABEL_RULES:
            raise ValueError(f'multi_label must be one of {MULTI_LABEL_RULES}, got '
                             f'{multi_label!r}')
        if ann_kind not in ('box', 'mask'):
            raise ValueError(f"ann_kind must be 'box' or 'mask', got {ann_kind!r}")
        self.multi_label = multi_label
        self.split = split
        ann_file = fill_split(ann_file, split, 'ann_file')
        path = ann_file if osp.isabs(ann_file) or not data_root else osp.join(data_root,
                                                                                ann_file)
        self._coco: Optional[dict] = load_coco_json(path)  # read once; freed after loading
        if isinstance(classes, str):
            classes = self._read_classes(classes, data_root)
        classes = coco_class_names(self._coco, path, classes)
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         ann_kind=ann_kind, classes=classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        """One dict per labelled image (see the class doc for the rules)."""
        coco = self._coco if self._coco is not None else load_coco_json(self.ann_file)
        self._coco = None
        _, records = read_coco_wsol(self.ann_file, self.metainfo['classes'], self.multi_label,
                                    self.require_localization, self.ann_kind, coco=coco)
        img_root = self.data_prefix.get('img_path', '')
        data_list = []
        for rec in records:
            info = dict(img_path=osp.join(img_root, rec['img_id']), img_id=rec['img_id'],
                        gt_label=rec['gt_label'], ori_size=rec['ori_size'],
                        gt_bboxes=np.asarray(rec['gt_bboxes'], np.float32).reshape(-1, 4))
            if self.ann_kind == 'mask':
                info.update(segms=rec['segms'], ignore_segms=rec['ignore_segms'])
            data_list.append(info)
        return data_list

    def get_data_info(self, idx: int) -> dict:
        """The item's dict; with masks, ``gt_mask`` / ``ignore_mask`` decoded at image size."""
        info = super().get_data_info(idx)
        if self.ann_kind == 'mask':
            info['gt_mask'], info['ignore_mask'] = record_masks(
                dict(img_id=info['img_id'], ori_size=info['ori_size'],
                     segms=info.pop('segms'), ignore_segms=info.pop('ignore_segms')),
                self.ann_file)
        return info


def fill_split(template: str, split: Optional[str], key: str) -> str:
    """``template`` with ``{split}`` replaced (an error names ``key`` if split is missing)."""
    if '{split}' not in template:
        return template
    if split is None:
        raise ValueError(f'{key}={template!r} contains {{split}} but no `split` is given')
    return template.replace('{split}', split)
