"""Small-object benchmark on SyntheticWSOL's 'small' preset (CPU, fixed budget).

Trains every selected method with the same model, data, schedule and seed via the
mmengine Runner, evaluates each on the test split with
``MaxBoxAccV2Metric(size_bins=True)`` and prints one row per method::

    python benchmarks/small_objects.py                  # CAM and crop consistency
    python benchmarks/small_objects.py --methods cam --epochs 2

A method is a function in ``METHODS`` returning config overrides (model keys and
extra custom hooks). ``da`` / ``brid``: DA-WSOL / Bridging the gap; ``has`` / ``cutmix`` /
``adl`` / ``acol`` / ``spg``: wsolevaluation's Hide-and-Seek, CutMix, ADL, ACoL, SPG on the same
ResNet18; ``tscam``: TS-CAM on a
from-scratch DeiT-Tiny (7x7 patches at 112 px) instead of the ResNet18; ``*+crop``: the
method throughout plus crop consistency (the ``CropConsistency`` wrapper around the same
localizer, joint with its own terms) from half of the budget on, like ``crop``.
"""
import argparse
import os.path as osp
import time
from typing import Callable, Dict

from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis.runner_utils import build_runner
from wsol_mm.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASE_CONFIG = osp.join(REPO, 'configs/cam/resnet18_synthetic.py')
KEYS = ('maxboxaccv2/small', 'maxboxaccv2/mean', 'maxboxaccv2/size_mean')


def cam_method(epochs: int) -> dict:
    """Plain CAM: the base config unchanged."""
    return dict()


def crop_method(epochs: int) -> dict:
    """CAM + Small Object Matters crop consistency.

    Loss/box values of the ResNet50-ImageNet script (the row where README and
    script agree); CE-only warm-up for the first half, as the CUB scripts (25/50).
    """
    return dict(
        model=dict(type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.15,
                   crop_ratio=0.3, loss_pos=0.9, loss_neg=0.1, loss_ratio=0.9),
        custom_hooks=[dict(type='CropConsistencyHook', start_epoch=epochs // 2)])


def da_method(epochs: int) -> dict:
    """DA-WSOL (beta 0.3, u 3: the ILSVRC values); classes / channels filled in by build_cfg."""
    return dict(model=dict(methods=[dict(type='DomainAdaptation', num_classes=None,
                                         feat_channels=None, beta=0.3,
                                         universum_weight=3.0)]))


def brid_method(epochs: int) -> dict:
    """Bridging the gap (CUB ResNet values), alignment after ~2/7 of the epochs (20/70)."""
    return dict(
        model=dict(backbone=dict(type='ResNetBridCAM'),
                   methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.25,
                                 drop_weight=2.0, sim_weight=0.5, norm_weight=0.05)]),
        custom_hooks=[dict(type='BridgingGapWarmupHook', warmup_epochs=max(1, epochs * 2 // 7))])


def tscam_method(epochs: int) -> dict:
    """TS-CAM: DeiT-Tiny from scratch (drop path 0.1), 3x3 conv head, raw summed attention.

    AdamW as the TS-CAM recipe (lr scaled to this budget: a starting point, not a tuned
    value); classes filled in by build_cfg.
    """
    return dict(
        model=dict(type='TSCAMLocalizer',
                   backbone=dict(type='VisionTransformer', arch='deit_t', img_size=112,
                                 pretrained=False, drop_path_rate=0.1),
                   head=dict(type='ConvCAMHead', num_classes=None, in_channels=192),
                   test_cfg=dict(topk_cams=5, interpolation='bilinear')),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.05)))


def has_method(epochs: int) -> dict:
    """Hide-and-Seek on the input batch (wsolevaluation defaults: 4 px patches, rate 0.5)."""
    return dict(model=dict(data_preprocessor=dict(batch_augments=[
        dict(type='HideAndSeek', grid_size=4, drop_rate=0.5)])),
        custom_hooks=[dict(type='MethodSeedHook')])


def cutmix_method(epochs: int) -> dict:
    """CutMix (wsolevaluation defaults: beta 1, prob 1); classes filled in by build_cfg."""
    return dict(model=dict(data_preprocessor=dict(batch_augments=[
        dict(type='CutMix', num_classes=None, beta=1.0, prob=1.0)])),
        custom_hooks=[dict(type='MethodSeedHook')])


def adl_method(epochs: int) -> dict:
    """ADL (wsolevaluation defaults: rate 0.75, gamma 0.9) after ResNet18's layer3 block 0
    and layer4 blocks 0 and 1 (the ResNet50 pattern: first and last block of layer4)."""
    return dict(model=dict(backbone=dict(adl=dict(drop_rate=0.75, drop_threshold=0.9),
                                         adl_positions=dict(layer3=(0, ), layer4=(0, 1)))),
                custom_hooks=[dict(type='MethodSeedHook')])


def acol_method(epochs: int) -> dict:
    """ACoL: erased-feature second classifier (threshold 0.7, wsolevaluation config.py);
    branches 256 wide, Xavier init (as configs/acol/resnet18_synthetic.py); GT maps only."""
    return dict(model=dict(type='ACoLLocalizer', test_cfg=dict(topk_cams=0),
                           head=dict(type='ACoLHead', mid_channels=256, drop_threshold=0.7,
                                     init_mode='xavier')))


def spg_method(epochs: int) -> dict:
    """SPG: B1/B2 on layer3, C on layer4 of the ResNet18, config.py thresholds, 1x1 class-map
    head; branch widths 256 (starting points); masks at the 112 px input size."""
    return dict(model=dict(
        backbone=dict(type='ResNetSPGCAM'), head=dict(type='Conv1x1ClassMapHead'),
        methods=[dict(type='SPG', b1_channels=256, b2_channels=256, c_channels=512,
                      branch_channels=256, c_mid_channels=256)]))


def _with_crop(method: Callable[[int], dict]) -> Callable[[int], dict]:
    """``method`` throughout, crop consistency jointly from half of the budget on."""

    def combined(epochs: int) -> dict:
        base, crop = method(epochs), crop_method(epochs)
        model = base.setdefault('model', {})
        localizer = model.pop('type', crop['model']['localizer'])
        model.update(crop['model'], localizer=localizer)
        base['custom_hooks'] = base.get('custom_hooks', []) + crop['custom_hooks']
        return base

    combined.__doc__ = f'{method.__name__} + crop consistency (joint, same budget).'
    return combined


METHODS: Dict[str, Callable[[int], dict]] = {
    'cam': cam_method,
    'crop': crop_method,
    'da': da_method,
    'brid': brid_method,
    'da+crop': _with_crop(da_method),
    'brid+crop': _with_crop(brid_method),
    'tscam': tscam_method,
    'tscam+crop': _with_crop(tscam_method),
    'has': has_method,
    'has+crop': _with_crop(has_method),
    'cutmix': cutmix_method,
    'cutmix+crop': _with_crop(cutmix_method),
    'adl': adl_method,
    'adl+crop': _with_crop(adl_method),
    'acol': acol_method,
    'acol+crop': _with_crop(acol_method),
    'spg': spg_method,
    'spg+crop': _with_crop(spg_method),
}


def build_cfg(method: str, args: argparse.Namespace) -> Config:
    """Base config + the shared small-object budget + the method's overrides."""
    cfg = Config.fromfile(BASE_CONFIG)
    # 7x7 maps at 112 px keep the CPU budget under 10 min; 14x14 with --large-feature-map
    cfg.model.backbone.large_feature_map = args.large_feature_map
    for name in ('train_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.update(preset='small', data_root=args.data_root)
        loader.dataset.generator.splits = dict(train=args.train_images, val=20,
                                               test=args.test_images)
        loader.update(num_workers=args.workers, persistent_workers=False)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None  # same budget: no selection
    cfg.test_evaluator = [dict(type='MaxBoxAccV2Metric', size_bins=True)]
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=args.epochs)
    cfg.param_scheduler[-1].update(end=args.epochs)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger.interval = 1000
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.log_level = 'WARNING'
    cfg.visualizer = dict(type='WSOLVisualizer', name=f'vis_small_objects_{method}')
    cfg.work_dir = osp.join(args.work_dir, method)
    overrides = METHODS[method](args.epochs)
    hooks = overrides.pop('custom_hooks', [])
    num_classes = cfg.model.head.num_classes
    model = overrides.pop('model', {})
    if 'TSCAMLocalizer' in (model.get('type'), model.get('localizer')):
        cfg.model = dict(data_preprocessor=cfg.model.data_preprocessor)  # not the ResNet18
        cfg.optim_wrapper = dict(overrides.pop('optim_wrapper'))
        model['head']['num_classes'] = num_classes
    cfg.merge_from_dict(overrides)
    cfg.model.update(model)
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + hooks
    for component in cfg.model.get('methods', []):
        if component.get('type') == 'DomainAdaptation':
            component.update(num_classes=num_classes, feat_channels=cfg.model.head.in_channels)
    for augment in cfg.model.get('data_preprocessor', {}).get('batch_augments', []):
        if augment.get('type') == 'CutMix':
            augment.update(num_classes=num_classes)
    return cfg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Small-object benchmark (SyntheticWSOL small)')
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--epochs', type=int, default=4)
    parser.add_argument('--train-images', type=int, default=320)
    parser.add_argument('--large-feature-map', action='store_true',
                        help='14x14 instead of 7x7 maps (about 2x slower)')
    parser.add_argument('--test-images', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=0)
    parser.add_argument('--data-root', default=osp.join(REPO, 'data/synthetic_small'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/benchmarks/small_objects'))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    register_all_modules()
    results = {}
    for method in args.methods:
        start = time.time()
        runner = build_runner(build_cfg(method, args))
        runner.train()
        results[method] = dict(runner.test(), seconds=time.time() - start)
    print(f'\nSyntheticWSOL small preset ({args.train_images} train / {args.test_images} test '
          f'images), 112 px, ResNet18CAM ({14 if args.large_feature_map else 7}x'
          f'{14 if args.large_feature_map else 7} maps) or DeiT-T TS-CAM (7x7 patches), '
          f'{args.epochs} epochs, seed {args.seed}')
    header = f'{"method":<11}' + ''.join(f' | {k:>22}' for k in KEYS) + ' | time (s)'
    print(header + '\n' + '-' * len(header))
    for method, res in results.items():
        cells = ''.join(f' | {res.get(k, float("nan")):>22.2f}' for k in KEYS)
        print(f'{method:<11}{cells} | {res["seconds"]:>8.0f}')


if __name__ == '__main__':
    main()
