"""``--cfg-options`` accepts what the constructors accept; ``--data-root`` moves every dataset."""
import glob
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from script_runner import run_script

from wsol_mm.apis.cfg_options import (
    ConfigOptionError,
    accepted_arguments,
    apply_overrides,
    check_cfg_options,
    check_config_keys,
    set_data_root,
)
from wsol_mm.registry import DATASETS, MODELS
from wsol_mm.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                                      recursive=True) if '_base_' not in p)


class _Base:

    def __init__(self, alpha: int = 1, beta: int = 2) -> None:
        pass


class _Forwards(_Base):

    def __init__(self, gamma: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)


class _Closed(_Base):

    def __init__(self, delta: int = 4) -> None:
        super().__init__(alpha=delta)


def _factory(**kwargs) -> dict:
    return kwargs


class _Elsewhere(_Base):

    def __init__(self, arch: str = 'a', **extra) -> None:
        super().__init__(alpha=1)
        self.net = _factory(**extra)  # e.g. timm.create_model(arch, **kwargs)


class _Popping(_Base):

    def __init__(self, **kwargs) -> None:
        self.meta = dict(kwargs.pop('meta', None) or {})
        super().__init__(**kwargs)


class _Module(nn.Module):

    def __init__(self, width: int = 1, **kwargs) -> None:
        super().__init__()


def test_accepted_arguments_follow_kwargs_through_the_mro():
    assert accepted_arguments(_Forwards) == {'gamma', 'alpha', 'beta'}
    assert accepted_arguments(_Closed) == {'delta'}  # no **kwargs: the base's are not reachable
    assert accepted_arguments(_Module) == {'width'}  # nn.Module takes no config keys
    assert accepted_arguments(lambda a, **kw: a) is None  # opaque **kwargs: anything goes
    assert accepted_arguments(_Elsewhere) is None  # **kwargs go to a factory, not the base
    assert accepted_arguments(_Popping) == {'meta', 'alpha', 'beta'}  # read, then to the base


@pytest.fixture
def cfg():
    register_all_modules()
    return Config.fromfile(QUICKSTART)


def test_real_constructor_arguments_are_accepted_and_take_effect(cfg, tiny_synthetic):
    apply_overrides(cfg, {
        'train_dataloader.dataset.indices': 4,  # mmengine BaseDataset argument
        'test_dataloader.dataset.auto_generate': False,  # SyntheticWSOLDataset argument
        'train_dataloader.dataset.auto_generate': False,  # (the fixture's data is smaller)
        'model.backbone.init_cfg.type': 'Pretrained',  # BaseModule argument
        'model.backbone.init_cfg.checkpoint': 'weights.pth',
        'model.head.loss.label_smoothing': 0.1,  # CrossEntropyLoss argument
    }, data_root=tiny_synthetic)
    assert cfg.model.backbone.init_cfg == dict(type='Pretrained', checkpoint='weights.pth')
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train_set) == 4
    assert cfg.test_dataloader.dataset.auto_generate is False
    cfg.model.backbone.init_cfg = None  # no weights file in the test
    model = MODELS.build(cfg.model)
    losses = [m for m in model.modules() if type(m).__name__ == 'CrossEntropyLoss']
    assert losses and all(m.label_smoothing == pytest.approx(0.1) for m in losses)


@pytest.mark.parametrize('option, expected', [
    ('model.hed.num_classes', ["model has no key 'hed'", "did you mean 'head'"]),
    ('model.head.loss.label_smothing', ["no key 'label_smothing'", "'label_smoothing'",
                                        'arguments of CrossEntropyLoss']),
    ('train_dataloader.dataset.indicies', ["did you mean 'indices'", "'serialize_data'",
                                           "'lazy_init'", "'max_refetch'", "'test_mode'"]),
    ('train_dataloader.batch_sise', ["did you mean 'batch_size'", "'num_workers'"]),
    ('model.backbone.init_cfg.checkpont', ["did you mean 'checkpoint'"]),
    ('no_such_key', ["the config has no key 'no_such_key'", "'train_dataloader'"]),
])
def test_typos_get_the_valid_keys(cfg, option, expected):
    options = {option: 1}
    if option.startswith('model.backbone.init_cfg'):
        options['model.backbone.init_cfg.type'] = 'Pretrained'
    with pytest.raises(ConfigOptionError) as err:
        check_cfg_options(cfg, options)
    assert 'valid keys' in str(err.value)
    for text in expected:
        assert text in str(err.value)


@pytest.mark.parametrize('option, expected', [
    ('data_root', ['--data-root /elsewhere', 'train_dataloader.dataset.data_root=/elsewhere',
                   'test_dataloader.dataset.data_root=/elsewhere']),
    ('train_pipeline', ['train_dataloader.dataset.pipeline=/elsewhere']),
    ('generator.seed', ['test_dataloader.dataset.generator.seed=/elsewhere']),
])
def test_stale_top_level_variables_are_rejected_with_what_to_use(cfg, option, expected):
    before = cfg.to_dict()
    with pytest.raises(ConfigOptionError) as err:
        apply_overrides(cfg, {option: '/elsewhere'})
    assert 'would change nothing' in str(err.value)
    for text in expected:
        assert text in str(err.value)
    assert cfg.to_dict() == before, 'a rejected override must not be half-applied'


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_every_key_of_every_config_is_accepted(config):
    """No false alarm: re-setting every leaf of a shipped config to its own value passes."""
    register_all_modules(init_default_scope=False)
    loaded = Config.fromfile(config)

    def leaves(node, prefix):
        if isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, f'{prefix}.{key}')
        elif isinstance(node, (list, tuple)) and node and all(isinstance(x, dict)
                                                              for x in node):
            for i, value in enumerate(node):
                yield from leaves(value, f'{prefix}.{i}')
        else:
            yield prefix[1:], node

    from wsol_mm.apis.cfg_options import top_level_keys
    options = {k: v for k, v in leaves(loaded.to_dict(), '')
               if k.split('.')[0] in top_level_keys()}
    check_cfg_options(loaded, options)
    check_config_keys(loaded)  # and no key of the file itself is unknown to its class


def test_a_key_left_over_from_a_base_is_one_message(cfg):
    """Replacing the dataset type keeps the base's other keys: named before any build."""
    with pytest.raises(ConfigOptionError) as err:
        apply_overrides(cfg, {'test_dataloader.dataset.type': 'COCOWSOLDataset',
                              'test_dataloader.dataset.ann_file': 'test.json'})
    assert "test_dataloader.dataset has no key 'generator'" in str(err.value)
    assert 'arguments of COCOWSOLDataset' in str(err.value) and '_delete_=True' in str(err.value)


@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.relpath(p, REPO_ROOT))
def test_data_root_moves_every_dataset_and_derived_path(config):
    loaded = Config.fromfile(config)
    old_roots = {loaded[k].dataset.get('data_root') for k in
                 ('train_dataloader', 'val_dataloader', 'test_dataloader')}
    set_data_root(loaded, '/mnt/elsewhere')
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = loaded[key].dataset
        assert dataset.data_root == '/mnt/elsewhere'
        text = repr({k: v for k, v in dataset.items() if k not in ('data_root', 'pipeline')})
        for old in old_roots - {None}:
            assert f"'{old}/" not in text and f"'{old}'" not in text, (key, old)


def test_data_root_rebases_paths_derived_from_the_old_root():
    cfg = Config(dict(
        data_root='data/mine',
        train_dataloader=dict(dataset=dict(type='WSOLDataset', data_root='data/mine',
                                           ann_file='data/mine/meta/train',
                                           classes='data/mine/names.txt',
                                           data_prefix=dict(img_path='images'))),
        val_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
            dict(type='WSOLDataset', data_root='data/mine', ann_file='meta/val')])),
        test_evaluator=dict(type='SomeMetric', metadata='data/mine/meta/test')))
    set_data_root(cfg, '/data/new')
    train = cfg.train_dataloader.dataset
    assert (train.ann_file, train.classes) == ('/data/new/meta/train', '/data/new/names.txt')
    assert train.data_prefix.img_path == 'images'  # relative to the root: unchanged
    assert cfg.val_dataloader.dataset.datasets[0].data_root == '/data/new'
    assert cfg.test_evaluator.metadata == '/data/new/meta/test'
    assert cfg.data_root == '/data/new'


def _run(args):
    return run_script([sys.executable] + args)


@pytest.fixture(scope='module')
def missing_root_setup(tmp_path_factory):
    """A quickstart config whose default data root does not exist, and an untrained model."""
    work = tmp_path_factory.mktemp('dataroot')
    missing = str(work / 'not_generated')
    cfg_path = str(work / 'cfg.py')
    loader = ("dict(batch_size=4, num_workers=0, persistent_workers=False, "
              "dataset=dict(data_root=data_root, auto_generate=False))")
    with open(cfg_path, 'w') as f:
        f.write(f'_base_ = [{QUICKSTART!r}]\ndata_root = {missing!r}\n'
                f'val_dataloader = {loader}\ntest_dataloader = {loader}\n')
    register_all_modules(init_default_scope=False)
    model = MODELS.build(Config.fromfile(QUICKSTART).model)
    ckpt = str(work / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta={}), ckpt)
    return cfg_path, ckpt, missing, str(work)


def test_cli_data_root_changes_what_is_evaluated(missing_root_setup, tiny_synthetic):
    cfg_path, ckpt, missing, work = missing_root_setup
    default = _run(['tools/test.py', cfg_path, ckpt, '--work-dir', work])
    assert default.returncode != 0 and missing in default.stderr
    moved = _run(['tools/test.py', cfg_path, ckpt, '--work-dir', work,
                  '--data-root', tiny_synthetic])
    assert moved.returncode == 0, moved.stderr[-3000:]
    assert 'maxboxaccv2/mean' in moved.stdout


def test_cli_stale_variable_is_one_message(missing_root_setup, tiny_synthetic):
    cfg_path, ckpt, _, work = missing_root_setup
    out = _run(['tools/test.py', cfg_path, ckpt, '--work-dir', work,
                '--cfg-options', f'data_root={tiny_synthetic}'])
    assert out.returncode == 1
    assert f'--data-root {tiny_synthetic}' in out.stderr
    assert 'Traceback' not in out.stderr
