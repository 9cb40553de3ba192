"""Config inheritance: a YAML variant of a Python base, and the quickstart variant rules."""
import os.path as osp

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_yaml_variant_inherits_python_base(tmp_path):
    base = osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')
    path = tmp_path / 'resnet50_variant.yaml'
    path.write_text(f'_base_: [{base!r}]\n'
                    'model:\n  backbone: {depth: 50}\n  head: {in_channels: 2048}\n'
                    'train_cfg: {max_epochs: 3}\n')
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'wsol_mm'
    assert cfg.model.backbone.depth == 50 and cfg.model.backbone.type == 'ResNetCAM'
    assert cfg.model.head.in_channels == 2048 and cfg.model.head.num_classes == 4
    assert cfg.train_cfg.max_epochs == 3 and cfg.train_cfg.val_interval == 2


def test_python_variant_overrides_few_keys(tmp_path):
    base = osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')
    path = tmp_path / 'variant.py'
    path.write_text(f'_base_ = [{base!r}]\nmodel = dict(backbone=dict(large_feature_map=True))\n')
    cfg = Config.fromfile(str(path))
    assert cfg.model.backbone.large_feature_map and cfg.model.backbone.depth == 18
    assert cfg.train_dataloader.dataset.type == 'SyntheticWSOLDataset'
