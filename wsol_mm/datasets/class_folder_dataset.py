"""Image-level labels from an ImageNet-style folder tree (``root/<class>/*.jpg``)."""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np

from wsol_mm.registry import DATASETS

from .coco_wsol_dataset import fill_split
from .metadata import MetadataError
from .wsol_dataset import WSOLDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class ClassFolderDataset(WSOLDataset):
    """A training split without boxes: one sub-folder per class.

    The label of an image is the index of its class folder in ``classes``
    (default: the sub-folder names, sorted, as torchvision's ``ImageFolder``).
    Images may sit in nested folders below their class folder. Samples follow
    the :class:`WSOLDataset` contract with an empty ``gt_bboxes`` ``(0, 4)``, so
    every training pipeline applies; there is nothing to localize, so use it for
    training (and classification-only validation, ``ClsAccuracyMetric``), and a
    box- or mask-annotated split (``COCOWSOLDataset``, ``WSOLDataset``) to
    evaluate localization.

    Args:
        data_root (str): dataset root. Defaults to ''.
        data_prefix (dict, optional): ``img_path`` = the folder holding the class
            folders, relative to ``data_root``. Defaults to ``dict(img_path='')``.
        classes (Sequence[str] | str, optional): class names in label order (a
            list or a file, one name per line); each must be a sub-folder; other
            sub-folders are ignored. Defaults to all sub-folders, sorted.
        extensions (Sequence[str]): image file endings (case-insensitive).
        split (str, optional): fills ``{split}`` in ``data_prefix.img_path``
            (``img_path='{split}'`` reads ``<data_root>/train/<class>/...`` for the
            train loader of a config that sets ``split='train'``).
        **kwargs: passed to :class:`WSOLDataset` / mmengine ``BaseDataset``.
    """

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 classes: Union[Sequence[str], str, None] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 split: Optional[str] = None,
                 **kwargs) -> None:
        self.extensions = tuple(e.lower() for e in extensions)
        self.split = split
        data_prefix = dict(data_prefix or dict(img_path=''))
        data_prefix['img_path'] = fill_split(data_prefix.get('img_path', ''), split,
                                              'data_prefix.img_path')
        folder = osp.join(data_root, data_prefix.get('img_path', ''))
        if not osp.isdir(folder):
            raise FileNotFoundError(f'image folder {folder} not found (keys `data_root` / '
                                    '`data_prefix.img_path`); it must hold one sub-folder '
                                    'per class')
        if isinstance(classes, str):
            classes = self._read_classes(classes, data_root)
        if classes is None:
            classes = sorted(d for d in os.listdir(folder) if osp.isdir(osp.join(folder, d)))
        missing = [c for c in classes if not osp.isdir(osp.join(folder, c))]
        if missing or not classes:
            raise MetadataError(f'{folder}: no class folder for {missing or "any class"}; '
                                'expected <img_path>/<class name>/<image>')
        kwargs.setdefault('require_localization', False)
        super().__init__(ann_file='', data_root=data_root, data_prefix=data_prefix,
                         classes=tuple(classes), **kwargs)

    def load_data_list(self) -> List[dict]:
        """One dict per image file, class by class, files in sorted order."""
        img_root = self.data_prefix.get('img_path', '')
        data_list = []
        for label, name in enumerate(self.metainfo['classes']):
            class_dir = osp.join(img_root, name)
            for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=True):
                dirnames.sort()
                for fname in sorted(filenames):
                    if not fname.lower().endswith(self.extensions):
                        continue
                    img_id = osp.relpath(osp.join(dirpath, fname), img_root)
                    data_list.append(dict(img_path=osp.join(img_root, img_id), img_id=img_id,
                                          gt_label=label, ori_size=None,
                                          gt_bboxes=np.zeros((0, 4), np.float32)))
        if not data_list:
            raise MetadataError(f'{img_root}: no image with an extension in {self.extensions} '
                                'under the class folders')
        return data_list
