"""Every config under configs/ loads, builds, and runs one train and one val iteration."""
import gc
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from wsol_mm.apis.runner_utils import build_runner

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(
    osp.relpath(p, REPO_ROOT) for p in glob.glob(osp.join(REPO_ROOT, 'configs', '**', '*.py'),
                                                  recursive=True) if '_base_' not in p)


def _disable_pretrained(node) -> None:
    if isinstance(node, dict):
        for key in list(node):
            if key == 'pretrained':
                node[key] = None
            elif key == 'init_cfg' and isinstance(node[key], dict) \
                    and node[key].get('type') == 'Pretrained':
                node[key] = None
            else:
                _disable_pretrained(node[key])
    elif isinstance(node, list):
        for item in node:
            _disable_pretrained(item)


_SIZE_KEYS = {'Resize': 'scale', 'RandomResizedCrop': 'scale', 'RandomCrop': 'crop_size',
              'CenterCrop': 'crop_size'}


def _low_resolution(cfg: Config) -> None:
    """Scale every pipeline size by 64/224 (a ViT's ``img_size`` 224 -> 64, four 16-px patches
    a side): same code paths, 1/12 of the pixels.

    The one-iteration run checks that a config's components fit together; at 224 px the
    200+ configs (DeiT-B, Conformer, VGG16 ...) would take most of the CI budget on 2 cores.
    """
    def scale(size: int) -> int:
        return max(16, size * 64 // 224)

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for step in cfg[key].dataset.pipeline:
            arg = _SIZE_KEYS.get(step['type'])
            if arg and arg in step:
                size = step[arg]
                step[arg] = scale(size) if isinstance(size, int) else [scale(v) for v in size]
    backbone = cfg.model.get('backbone', {})
    if 'img_size' in backbone:
        backbone['img_size'] = scale(backbone['img_size'])


def _num_classes(model: dict) -> int:
    for key in ('num_classes', ):
        if key in model:
            return model[key]
    return model['head']['num_classes']


def _uses_masks(cfg: Config) -> bool:
    evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) \
        else [cfg.val_evaluator]
    return any(e.get('type') == 'PxAPMetric' for e in evaluators)


def _tiny_dataset(dataset: dict, root: str, split: str, num_classes: int, masks: bool) -> dict:
    kind = 'mask' if masks else 'box'
    meta = 'metadata_masks' if masks else 'metadata'
    return dict(type='WSOLDataset', data_root=root, ann_file=f'{meta}/{split}',
                data_prefix=dict(img_path='images', mask_path='masks'), ann_kind=kind,
                classes=[f'c{i}' for i in range(num_classes)], pipeline=dataset['pipeline'],
                test_mode=split != 'train', indices=2,
                serialize_data=False)  # mmengine's serialisation runs gc.collect (0.5 s)


def test_config_list_is_not_empty():
    assert 'configs/cam/resnet18_synthetic.py' in CONFIGS


@pytest.fixture
def unformatted_config_dumps(monkeypatch):
    """The Runner formats the whole config with yapf three times (log, dump, vis backend),
    about 1 s per config; the dumps' layout is irrelevant here."""
    import mmengine.config.config as mmengine_config
    monkeypatch.setattr(mmengine_config, 'FormatCode', lambda text, **kwargs: (text, False))


@pytest.fixture
def runner_cycles_collected():
    """A Runner, its loops, hooks and model refer to one another, so each config's model and
    optimizer state (DeiT-B with AdamW: over 1 GB) outlive the test until a rare full
    collection: the worker grew to 10 GB over this file. Collect after each config;
    ``gc.freeze()`` first takes what is alive before it out of the collector's scan, so the
    collection costs the runner's objects only (the file ran 100 s without, 94 s with)."""
    gc.collect()
    gc.freeze()
    yield
    gc.collect()


@pytest.mark.parametrize('config', CONFIGS)
def test_config_loads_builds_and_runs_one_iteration(config, tiny_synthetic_256, tmp_path,
                                                    unformatted_config_dumps, cheap_weight_init,
                                                    runner_cycles_collected):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    assert cfg.default_scope == 'wsol_mm'
    for key in ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator', 'optim_wrapper', 'train_cfg'):
        assert key in cfg, f'{config} misses {key}'
    assert cfg.val_dataloader.dataset != cfg.test_dataloader.dataset or \
        'same-split' in cfg.get('notes', ''), f'{config}: val and test read the same split'
    _disable_pretrained(cfg.model)
    num_classes = _num_classes(cfg.model)
    masks = _uses_masks(cfg)
    _low_resolution(cfg)
    for split, key in (('train', 'train_dataloader'), ('val', 'val_dataloader'),
                       ('test', 'test_dataloader')):
        loader = cfg[key]
        loader.dataset = _tiny_dataset(loader.dataset, tiny_synthetic_256, split, num_classes,
                                       masks)
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=1)
    cfg.work_dir = str(tmp_path)
    cfg.load_from = None  # two-stage configs name a first-stage checkpoint
    # writing a DeiT-B/VGG checkpoint costs more than the iteration itself: save none
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.visualizer = dict(type='WSOLVisualizer', name=f'vis_{tmp_path.name}')
    cfg.log_level = 'WARNING'
    runner = build_runner(cfg)  # builds the model (the config's num_classes) and the loops
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    assert model.num_classes == num_classes
    runner.train()
    logs = runner.message_hub.log_scalars
    assert any(k.startswith('train/loss') for k in logs), f'{config}: no training loss logged'
    assert runner.iter == 1


def _inheritance_depth(path: str) -> int:
    """Files on the longest `_base_` chain starting at (and counting) ``path``."""
    cfg_text = open(path, encoding='utf-8').read()
    if '_base_' not in cfg_text:
        return 1
    bases = Config._get_base_files(path)  # noqa: SLF001 - mmengine's own parser of `_base_`
    folder = osp.dirname(path)
    return 1 + max(_inheritance_depth(osp.normpath(osp.join(folder, b))) for b in bases)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_style_rules(config):
    path = osp.join(REPO_ROOT, config)
    text = open(path, encoding='utf-8').read()
    assert '_delete_' not in text and 'default_scope' not in text, config
    # at most three inheritance steps: variant -> primitive -> dataset base -> shared base
    assert _inheritance_depth(path) - 1 <= 3, f'{config}: more than three levels of _base_'


@pytest.mark.parametrize('config', CONFIGS)
def test_config_spells_the_cam_normalisation(config):
    """``model.test_cfg.norm`` is in every config, so ``--cfg-options
    model.test_cfg.norm.type=IVR`` (checked against the config's keys) works on any method."""
    from wsol_mm.apis.cfg_options import check_cfg_options
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    assert 'norm' in (cfg.model.get('test_cfg') or {}), f'{config}: no model.test_cfg.norm'
    check_cfg_options(cfg, {'model.test_cfg.norm.type': 'IVR',
                            'model.test_cfg.norm.percentile': 0.3})


@pytest.mark.parametrize('config', CONFIGS)
def test_cnn_configs_feed_channels_last(config):
    """ResNet50 / VGG16 / InceptionV3 configs batch channels-last (faster CPU steps,
    docs/speed.md); DeiT / Conformer and the ResNet18 synthetic configs (the quick start's)
    keep the contiguous batch."""
    model = Config.fromfile(osp.join(REPO_ROOT, config)).model
    backbone = model.get('backbone', {})
    cnn = backbone.get('type', '').startswith(('ResNet', 'VGG16', 'InceptionV3'))
    expected = cnn and backbone.get('depth', 50) != 18
    assert model.data_preprocessor.get('channels_last', False) == expected, config


@pytest.mark.parametrize('config', CONFIGS)
def test_large_head_convolutions_run_nchw(config):
    """Channels-last configs whose head has 3x3 convolutions to 1024 channels (InceptionV3
    CAM / SPG / ADL, ACoL) feed them NCHW (`contiguous_modules`, faster in float32 on oneDNN,
    docs/speed.md); so do the ViT TS-CAM family's (the patch map is a channel-minor view);
    no other config names any."""
    model = Config.fromfile(osp.join(REPO_ROOT, config)).model
    head = model.get('head', {})
    large = (model.data_preprocessor.get('channels_last', False)
             and head.get('type') in ('ConvClassMapHead', 'ADLConvClassMapHead', 'ACoLHead')
             and head.get('mid_channels') == 1024)
    names = list(model.get('contiguous_modules', []))
    tscam = 'TSCAMLocalizer' in (model.type, model.get('localizer'))  # or crop consistency's
    if tscam and model.backbone.type == 'VisionTransformer':
        assert names == ['head.conv'], config
    elif not large:
        assert names == [], config
    elif head['type'] == 'ACoLHead':
        assert names == ['head.classifier_A.0', 'head.classifier_B.0'], config
    else:
        assert names == ['head.conv1'], config
