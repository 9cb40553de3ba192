"""The pre-run data check: a dataset that generates its missing data (SyntheticWSOL, the
quickstart's) is not reported missing; switched off, it is."""
import os.path as osp

import pytest
from mmengine.config import Config

from wsol_mm.apis.preflight import check_datasets
from wsol_mm.utils import MissingFileError

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'cam', 'resnet18_synthetic.py')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _cfg(root: str, **dataset) -> Config:
    cfg = Config.fromfile(CONFIG)
    for loader in LOADERS:
        cfg[loader].dataset.update(data_root=root, **dataset)
    return cfg


def test_missing_synthetic_root_is_left_to_the_generator(tmp_path):
    root = str(tmp_path / 'fresh_clone' / 'data' / 'synthetic')
    check_datasets(_cfg(root), LOADERS)  # no error
    assert not osp.exists(root)  # nor generated here: the runner's build does it (rank 0)


def test_missing_synthetic_root_without_generation_is_reported(tmp_path):
    root = str(tmp_path / 'nowhere')
    with pytest.raises(MissingFileError, match='nowhere'):
        check_datasets(_cfg(root, auto_generate=False), LOADERS)
