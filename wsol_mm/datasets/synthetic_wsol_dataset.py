"""SyntheticWSOL: the generated benchmark that is the embedded default."""
import os.path as osp
from typing import Optional

from mmengine.dist import barrier, get_dist_info

from wsol_mm.registry import DATASETS

from .synthetic import generate_synthetic, preset_config, synthetic_is_complete
from .wsol_dataset import WSOLDataset


@DATASETS.register_module()
class SyntheticWSOLDataset(WSOLDataset):
    """A split of SyntheticWSOL, generated under ``data_root`` if missing.

    Args:
        data_root (str): where the benchmark lives (e.g. ``data/synthetic``).
        split (str): ``'train'``, ``'val'`` or ``'test'``. Defaults to ``'train'``.
        preset (str): generator preset, ``'default'`` or ``'small'``
            (small-object benchmark). Defaults to ``'default'``.
        generator (dict, optional): overrides of the generator config
            (``num_classes``, ``image_size``, ``splits``, ``seed`` ...).
        auto_generate (bool): generate the data when it is missing. Defaults to True.
        ann_kind (str): ``'box'`` reads ``metadata/``, ``'mask'`` reads
            ``metadata_masks/`` (OpenImages-style instance masks). Defaults to ``'box'``.
        **kwargs: passed to :class:`WSOLDataset`.
    """

    # the argument that makes a missing ``data_root`` a job for the first build, not an
    # error (read by the pre-run data check, apis/preflight.py)
    generate_missing_key = 'auto_generate'

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 preset: str = 'default',
                 generator: Optional[dict] = None,
                 auto_generate: bool = True,
                 ann_kind: str = 'box',
                 **kwargs) -> None:
        gen_cfg = preset_config(preset, **(generator or {}))
        if split not in gen_cfg.splits:
            raise ValueError(f'split {split!r} is not one of {sorted(gen_cfg.splits)} '
                             '(key `split`)')
        if auto_generate and not synthetic_is_complete(data_root, gen_cfg):
            rank, _ = get_dist_info()
            if rank == 0:  # one writer; the others wait at the barrier
                generate_synthetic(data_root, gen_cfg)
            barrier()
        meta_dir = 'metadata' if ann_kind == 'box' else 'metadata_masks'
        kwargs.setdefault('ann_file', osp.join(meta_dir, split))
        kwargs.setdefault('data_prefix', dict(img_path='images', mask_path='masks'))
        kwargs.setdefault('classes', 'class_names.txt')
        super().__init__(data_root=data_root, ann_kind=ann_kind, **kwargs)
