"""CUB-200-2011 (+ CUBV2 val, + CUBSmall) from wsolevaluation metadata or native files."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np

from wsol_mm.registry import DATASETS

from .converters.cub import read_cub_classes, read_cub_native
from .metadata import read_wsol_metadata
from .wsol_dataset import WSOLDataset

CUB_SPLITS = ('train', 'val', 'test', 'small')


@DATASETS.register_module()
class CUBDataset(WSOLDataset):
    """CUB-200-2011 with wsolevaluation's splits, or the native archive.

    wsolevaluation layout (``native=False``, see data/README.md): metadata in
    ``<data_root>/metadata/CUB/<split>/`` and images under ``<data_root>/CUB/``
    (CUB_200_2011 ``images/`` merged with CUBV2 for ``val``); split ``small``
    (CUBSmall, 197 images of Small Object Matters) reads images from
    ``<data_root>/CUBSmall/`` because one of its files has the same name as a
    different CUBV2 image (``007.Parakeet_Auklet/48114872253.jpg``).

    Native layout (``native=True``): ``data_root`` is the ``CUB_200_2011`` folder;
    splits ``train`` / ``test`` come from ``train_test_split.txt``, boxes from
    ``bounding_boxes.txt`` (converted as wsolevaluation does, see
    :func:`cub_box_to_xyxy`), images from ``images/``.

    Class names: ``classes`` (a list, or a file: ``classes.txt`` of the archive
    or one name per line); by default ``<data_root>/classes.txt`` (native) or
    the class folders of the image ids (wsolevaluation).

    Args:
        data_root (str): see above. Defaults to 'data'.
        split (str): ``'train'``, ``'val'`` (CUBV2), ``'test'`` or ``'small'``.
        native (bool): read the native ``CUB_200_2011`` files. Defaults to False.
        ann_file (str, optional): metadata folder; default ``metadata/CUB/<split>``.
        data_prefix (dict, optional): default ``img_path`` ``CUB`` / ``CUBSmall``
            (``images`` when native).
        classes (Sequence[str] | str, optional): see above.
        **kwargs: passed to :class:`WSOLDataset` (``pipeline``, ``test_mode`` ...).
    """

    NUM_CLASSES = 200

    def __init__(self,
                 data_root: str = 'data',
                 split: str = 'test',
                 native: bool = False,
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 classes: Union[Sequence[str], str, None] = None,
                 **kwargs) -> None:
        if split not in CUB_SPLITS:
            raise ValueError(f'CUBDataset split must be one of {CUB_SPLITS}, got {split!r}')
        self.split = split
        self.native = native
        if native:
            if split not in ('train', 'test'):
                raise ValueError(f"native CUB_200_2011 has no {split!r} split (key `split`); "
                                 'use the wsolevaluation metadata (native=False)')
            ann_file = ann_file or '.'
            data_prefix = data_prefix or dict(img_path='images')
        else:
            ann_file = ann_file or osp.join('metadata', 'CUB', split)
            data_prefix = data_prefix or dict(img_path='CUBSmall' if split == 'small' else 'CUB')
        classes = self._resolve_classes(classes, data_root, ann_file, native)
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         ann_kind='box', classes=classes, **kwargs)

    def _resolve_classes(self, classes, data_root: str, ann_file: str, native: bool):
        if isinstance(classes, str):
            path = classes if osp.isabs(classes) else osp.join(data_root, classes)
            if not osp.isfile(path):
                raise FileNotFoundError(f'class-name file {path} not found (key `classes`)')
            with open(path, encoding='utf-8') as f:
                first = f.readline().split()
            # classes.txt of the archive is "<id> <name>"; else one name per line
            if len(first) == 2 and first[0].isdigit():
                return read_cub_classes(path)
            return classes
        if classes is not None:
            return tuple(classes)
        if native:
            return read_cub_classes(osp.join(data_root, ann_file, 'classes.txt'))
        split_dir = ann_file if osp.isabs(ann_file) else osp.join(data_root, ann_file)
        if not osp.isdir(split_dir):
            return None  # load_data_list raises the clear "metadata folder" error
        return _names_from_ids(read_wsol_metadata(split_dir, 'box', False), self.NUM_CLASSES)

    def load_data_list(self) -> List[dict]:
        if not self.native:
            return super().load_data_list()
        img_root = self.data_prefix.get('img_path', '')
        data_list = []
        for rec in read_cub_native(self.ann_file, self.split):
            if not rec['gt_label'] < self.num_classes:
                raise ValueError(f'{self.ann_file}/image_class_labels.txt: label '
                                 f'{rec["gt_label"] + 1} of {rec["img_id"]} exceeds the '
                                 f'{self.num_classes} classes of classes.txt')
            data_list.append(dict(
                img_path=osp.join(img_root, rec['img_id']), img_id=rec['img_id'],
                gt_label=rec['gt_label'], ori_size=None,
                gt_bboxes=np.asarray(rec['gt_bboxes'], np.float32).reshape(-1, 4)))
        return data_list


def _names_from_ids(records: List[dict], num_classes: int) -> tuple:
    """Class names = the class folder of the image ids (``001.Black_footed_Albatross/..``)."""
    names = [f'class_{i}' for i in range(num_classes)]
    for rec in records:
        folder = rec['img_id'].split('/')[0]
        if '/' in rec['img_id'] and 0 <= rec['gt_label'] < num_classes:
            names[rec['gt_label']] = folder
    return tuple(names)
