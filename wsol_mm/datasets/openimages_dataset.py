"""OpenImages30k (wsolevaluation): instance masks + ignore masks, PxAP evaluation."""
import os.path as osp
from typing import Optional

from wsol_mm.registry import DATASETS

from .wsol_dataset import WSOLDataset


@DATASETS.register_module()
class OpenImagesDataset(WSOLDataset):
    """OpenImages30k from wsolevaluation metadata (``ann_kind='mask'``).

    Layout (data/README.md): metadata in ``<data_root>/metadata/OpenImages/<split>/``
    (``localization.txt`` lines ``image_id,mask_path,ignore_path``, the ignore
    path only on an image's first line); images AND masks under
    ``<data_root>/OpenImages/`` (``test/<class>/<hash>.jpg``,
    ``test/<class>/<hash>_m<class>_<inst>.png``, ``<hash>_ignore.png``), which
    is wsolevaluation's ``<mask_root>/OpenImages`` with ``mask_root`` = data root.

    Args:
        data_root (str): Defaults to 'data'.
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to 'test'.
        ann_file (str, optional): default ``metadata/OpenImages/<split>``.
        data_prefix (dict, optional): default ``img_path`` and ``mask_path``
            ``'OpenImages'``.
        num_classes (int): Defaults to 100.
        **kwargs: passed to :class:`WSOLDataset`.
    """

    def __init__(self,
                 data_root: str = 'data',
                 split: str = 'test',
                 ann_file: Optional[str] = None,
                 data_prefix: Optional[dict] = None,
                 num_classes: int = 100,
                 **kwargs) -> None:
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"OpenImagesDataset split must be 'train', 'val' or 'test', "
                             f'got {split!r}')
        self.split = split
        super().__init__(ann_file=ann_file or osp.join('metadata', 'OpenImages', split),
                         data_root=data_root,
                         data_prefix=data_prefix or dict(img_path='OpenImages',
                                                         mask_path='OpenImages'),
                         ann_kind='mask', num_classes=num_classes, **kwargs)
