"""Dataset over wsolevaluation split metadata (boxes or instance masks)."""
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset

from wsol_mm.registry import DATASETS
from wsol_mm.utils import seeded_rng

from .metadata import MetadataError, read_wsol_metadata


@DATASETS.register_module()
class WSOLDataset(BaseDataset):
    """A split described by wsolevaluation metadata files.

    Args:
        ann_file (str): folder of the split's metadata files (``image_ids.txt``,
            ``class_labels.txt``, ``image_sizes.txt``, ``localization.txt``),
            relative to ``data_root`` unless absolute.
        data_root (str): dataset root. Defaults to ''.
        data_prefix (dict): ``img_path`` (image root; image ids are relative to
            it) and, for masks, ``mask_path``. Defaults to ``dict(img_path='')``.
        ann_kind (str): ``'box'`` or ``'mask'``. Defaults to ``'box'``.
        num_classes (int, optional): number of classes; labels must lie in
            ``[0, num_classes)``. Defaults to ``len(classes)`` of the metainfo.
        classes (Sequence[str] | str, optional): class names, or a file with one
            name per line. Defaults to the class attribute ``METAINFO``.
        require_localization (bool, optional): every image needs an annotation.
            Defaults to ``test_mode``.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.

    Random transforms draw from streams seeded by ``(seed, epoch, index)`` once
    :meth:`set_epoch_seed` was called (``ExactResumeHook`` does it before every training
    epoch): a resumed run sees exactly the augmentations of an uninterrupted one, whatever
    the number of dataloader workers.

    Examples:
        >>> ds = WSOLDataset(ann_file='metadata/test', data_root='data/synthetic',
        ...                  data_prefix=dict(img_path='images'), num_classes=4,
        ...                  test_mode=True)  # doctest: +SKIP
    """

    METAINFO: dict = dict(classes=())

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: Optional[dict] = None,
                 ann_kind: str = 'box',
                 num_classes: Optional[int] = None,
                 classes: Union[Sequence[str], str, None] = None,
                 require_localization: Optional[bool] = None,
                 test_mode: bool = False,
                 **kwargs) -> None:
        # (seed, epoch) in shared memory: persistent dataloader workers see every update.
        self._epoch_seed = torch.full((2, ), -1, dtype=torch.int64).share_memory_()
        self.ann_kind = ann_kind
        self.require_localization = test_mode if require_localization is None \
            else require_localization
        metainfo = dict(kwargs.pop('metainfo', None) or {})
        if classes is not None:
            metainfo['classes'] = self._read_classes(classes, data_root)
        elif num_classes is not None and len(self.METAINFO.get('classes', ())) != num_classes:
            metainfo['classes'] = tuple(f'class_{i}' for i in range(num_classes))
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix or dict(img_path=''), metainfo=metainfo,
                         test_mode=test_mode, **kwargs)

    @staticmethod
    def _read_classes(classes: Union[Sequence[str], str], data_root: str) -> tuple:
        if not isinstance(classes, str):
            return tuple(classes)
        path = classes if osp.isabs(classes) else osp.join(data_root, classes)
        if not osp.isfile(path):
            raise FileNotFoundError(f'class-name file {path} not found (key `classes`)')
        with open(path, encoding='utf-8') as f:
            return tuple(line.strip() for line in f if line.strip())

    @property
    def num_classes(self) -> int:
        """Number of classes of the dataset."""
        return len(self.metainfo['classes'])

    def load_data_list(self) -> List[dict]:
        """Parse the split folder into one dict per image (see :func:`read_wsol_metadata`)."""
        if not osp.isdir(self.ann_file):
            raise FileNotFoundError(
                f'metadata folder {self.ann_file} not found (config key `ann_file`, relative '
                f'to `data_root`); see data/README.md for where datasets go')
        records = read_wsol_metadata(self.ann_file, self.ann_kind, self.require_localization)
        num_classes = self.num_classes
        labels_file = osp.join(self.ann_file, 'class_labels.txt')
        img_root = self.data_prefix.get('img_path', '')
        mask_root = self.data_prefix.get('mask_path', '')
        data_list = []
        for rec in records:
            if num_classes and not 0 <= rec['gt_label'] < num_classes:
                raise MetadataError(
                    f'{labels_file}: label {rec["gt_label"]} of {rec["img_id"]!r} is outside '
                    f'[0, {num_classes}); fix the label or set `num_classes`/`classes`')
            info = dict(img_path=osp.join(img_root, rec['img_id']), img_id=rec['img_id'],
                        gt_label=rec['gt_label'], ori_size=rec['ori_size'],
                        gt_bboxes=np.asarray(rec['gt_bboxes'], np.float32).reshape(-1, 4))
            if self.ann_kind == 'mask':
                info['mask_paths'] = [osp.join(mask_root, p) for p in rec['mask_paths']]
                info['ignore_path'] = (osp.join(mask_root, rec['ignore_path'])
                                       if rec['ignore_path'] else None)
            data_list.append(info)
        return data_list

    def set_epoch_seed(self, seed: int, epoch: int) -> None:
        """Seed the random transforms of each sample by ``(seed, epoch, index)``.

        Args:
            seed (int): the run's seed (non-negative).
            epoch (int): the epoch about to start.
        """
        self._epoch_seed[0], self._epoch_seed[1] = int(seed), int(epoch)

    def prepare_data(self, idx: int) -> Optional[dict]:
        """Run the pipeline on sample ``idx`` (seeded per sample after :meth:`set_epoch_seed`)."""
        seed, epoch = self._epoch_seed.tolist()
        if seed < 0:
            return super().prepare_data(idx)
        with seeded_rng(seed, epoch, idx):
            return super().prepare_data(idx)

    def get_cat_ids(self, idx: int) -> List[int]:
        """Class ids of one image (used by class-aware samplers)."""
        return [int(self.get_data_info(idx)['gt_label'])]
