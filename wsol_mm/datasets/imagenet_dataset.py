"""ILSVRC (ImageNet-1k) with wsolevaluation's splits (ImageNetV2 val, ImageNet val test)."""
import os.path as osp
from typing import List, Optional

from wsol_mm.registry import DATASETS

from .metadata import MetadataError
from .wsol_dataset import WSOLDataset


@DATASETS.register_module()
class ImageNetDataset(WSOLDataset):
    """ILSVRC from wsolevaluation metadata.

    Layout (data/README.md): metadata in ``<data_root>/metadata/ILSVRC/<split>/``,
    images under ``<data_root>/ILSVRC/`` with ids ``train/<wnid>/<file>.JPEG``,
    ``val2/<class>/<file>.jpeg`` (ImageNetV2 threshold-0.7, split ``val``) and
    ``val/ILSVRC2012_val_<n>.JPEG`` (split ``test``). Class names are not
    hard-coded: pass ``classes`` (a file, one name per line) or leave
    ``num_classes=1000``.

    Args:
        data_root (str): Defaults to 'data'.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to 'test'.
        proxy (bool): train on wsolevaluation's ``image_ids_proxy.txt`` subset
            (``--proxy_training_set``) of the train split. Defaults to False.
        ann_file (str, optional): default ``metadata/ILSVRC/<split>``.
        data_prefix (dict, optional): default ``dict(img_path='ILSVRC')``.
        num_classes (int): Defaults to 1000.
        **kwargs: passed to :class:`WSOLDataset`.
    """

    def __init__(self,
                 data_root: str = 'data',
                 split: str = 'test',
                 proxy: bool = False,
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 num_classes: int = 1000,
                 **kwargs) -> None:
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"ImageNetDataset split must be 'train', 'val' or 'test', "
                             f'got {split!r}')
        self.split = split
        self.proxy = proxy
        super().__init__(ann_file=ann_file or osp.join('metadata', 'ILSVRC', split),
                         data_root=data_root,
                         data_prefix=data_prefix or dict(img_path='ILSVRC'),
                         ann_kind='box', num_classes=num_classes, **kwargs)

    def load_data_list(self) -> List[dict]:
        data_list = super().load_data_list()
        if not self.proxy:
            return data_list
        path = osp.join(self.ann_file, 'image_ids_proxy.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} not found (key `proxy=True`); it is '
                                    "wsolevaluation's proxy training list")
        by_id = {info['img_id']: info for info in data_list}
        subset = []
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                img_id = line.strip()
                if not img_id:
                    continue
                if img_id not in by_id:
                    raise MetadataError(f'{path}:{lineno}: {img_id!r} is not in image_ids.txt')
                subset.append(by_id[img_id])
        return subset
