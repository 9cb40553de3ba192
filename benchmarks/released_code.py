"""The released methods' models, losses and training steps, imported from their checkouts
(``benchmarks/released_step.py``).

DeiT methods: ``lib/models/deit.py`` of a TS-CAM, SCM or LCA-MD checkout, imported as a
package without its ``__init__`` (TS-CAM's imports its VGG models too); one import moved
in timm since (``timm.models.layers.classifier``) is aliased to its new place.

Crop consistency: the ``wsol`` package of a dongjunhwang/small_object_wsol checkout. That
code is written for a GPU (tensors created with ``device='cuda'``, ``.to('cuda')``,
``.cuda()``); its files are compiled with those placements turned into the CPU's. Its
training path stops at the paste-back (the box in pixels, the map still at grid size:
``configs/crop/README.md``, "Defects of the released code"), so ``crop_stage`` gets the fix
wsol_mm made, the released evaluation path's: the original map upsampled to the input size
before the paste in training too (its ``if return_cam:`` guard dropped). Nothing else is
changed. Its dtype check uses numpy's removed ``np.float`` alias (restored
as ``float``, as ``released_evaluator.py`` does), and its DA module imports scikit-learn
at package import (a stub when it is not installed: the crop step never calls it).
"""
import importlib
import importlib.machinery
import importlib.util
import os.path as osp
import re
import sys
import types
import warnings
from typing import Callable, Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from train_step import METHODS, NUM_CLASSES, batch, load_cfg
from variants import Variant

from wsol_mm.models.converters import (
    convert_lca_md,
    convert_scm,
    convert_tscam,
    convert_wsolevaluation,
)

SOM = 'dongjunhwang/small_object_wsol'
# method -> the released repository (the command-line option is its own), its model entry
# point, the converter of its weights to wsol_mm's keys
RELEASED: Dict[str, dict] = {
    'tscam': dict(repo='vasgaowei/TS-CAM', option='tscam', arch='deit_tscam_small_patch16_224',
                  convert=convert_tscam),
    'scm': dict(repo='hbai98/SCM', option='scm', arch='deit_scm_small_patch16_224',
                convert=convert_scm),
    'lcamd': dict(repo='rjy-fighting/LCA-MD', option='lcamd',
                  arch='deit_lca_md_small_patch16_224',
                  convert=lambda state: convert_lca_md(state)[0]),
}
for _arch in ('resnet50', 'vgg16', 'inception_v3'):
    RELEASED[f'crop_{_arch}'] = dict(
        repo=SOM, option='small_object_wsol', arch=_arch,
        convert=lambda state, arch=_arch: convert_wsolevaluation(state, arch, 'cam')['state_dict'])
# SCM and LCA-MD collect these parameters for logging in every step
LOG_SCOPES = [re.compile(s) for s in
              ('module.layers.[0-9]+.fuse._loss_rate', 'module.layers.[0-9]+.thred')]
LCA_MD_CLS_WEIGHT = 0.6  # the released loop's delta: (1 - delta) * contrastive + delta * cls
# GPU placements in the crop code, and what they become on the CPU
CPU_PLACEMENTS = (("device='cuda'", "device='cpu'"), (".to('cuda')", ".to('cpu')"),
                  ('.cuda()', ''))
# the paste-back fix (module doc): crop_stage upsamples the original map in training too
PASTE_GUARD = ('        if return_cam:\n            cam_org = self.upsample_module(cam_org',
               '        if True:\n            cam_org = self.upsample_module(cam_org')
# main.py's `_FEATURE_PARAM_LAYER_PATTERNS`: ResNet parameters matching one of these train at
# 10 x lr, the rest (the stem's BN) at lr; VGG16 and InceptionV3 have none (all at 10 x lr)
RESNET_10X = ('conv1', 'layer1.', 'layer2.', 'layer3.', 'layer4.', 'fc.')


def option_flag(method: str) -> str:
    """The command-line option of the method's checkout (``--small-object-wsol``)."""
    return '--' + RELEASED[method]['option'].replace('_', '-')


def check_checkout(method: str, root: str) -> None:
    """Exit with one message when ``root`` is not a checkout of the method's repository."""
    info = RELEASED[method]
    need = osp.join('wsol', 'method', 'crop.py') if info['repo'] == SOM else osp.join(
        'lib', 'models', 'deit.py')
    if not osp.isfile(osp.join(root, need)):
        sys.exit(f'{option_flag(method)} {root}: no {need} there; pass the root '
                 f'of a checkout of https://github.com/{info["repo"]}')


def _import(method: str, root: str, name: str) -> types.ModuleType:
    try:
        with warnings.catch_warnings():  # timm: "Overwriting vit_... in registry"
            warnings.simplefilter('ignore')
            return importlib.import_module(name)
    except ModuleNotFoundError as err:
        top = (err.name or '').split('.')[0]
        hint = (f'pip install {top}' if importlib.util.find_spec(top) is None else
                f'the installed {top} no longer has it')
        sys.exit(f'{option_flag(method)} {root}: the released code imports '
                 f'`{err.name}` ({hint})')
    except ImportError as err:  # the paste-back fix did not apply (_CPULoader)
        sys.exit(f'{option_flag(method)} {root}: {err}')


def deit_modules(method: str, root: str) -> types.SimpleNamespace:
    """A DeiT method's model module (and LCA-MD's loss module), from the checkout's files."""
    check_checkout(method, root)
    import timm.layers.classifier
    sys.modules.setdefault('timm.models.layers.classifier', timm.layers.classifier)
    name = f'released_{method}_models'
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [osp.join(root, 'lib', 'models')]
        sys.modules[name] = package
    loss = None
    if method == 'lcamd':
        spec = importlib.util.spec_from_file_location(
            f'released_{method}_loss', osp.join(root, 'lib', 'core', 'loss.py'))
        loss = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loss)
    return types.SimpleNamespace(models=_import(method, root, f'{name}.deit'), loss=loss)


class _CPULoader(importlib.machinery.SourceFileLoader):
    """Compiles the checkout's files with their GPU placements made the CPU's (never from
    a bytecode cache, which may hold the unchanged code)."""

    def get_code(self, fullname: str) -> types.CodeType:
        path = self.get_filename(fullname)
        text = self.get_data(path).decode('utf-8')
        for old, new in CPU_PLACEMENTS:
            text = text.replace(old, new)
        if fullname == 'wsol.method.crop':
            if text.count(PASTE_GUARD[0]) != 1:
                raise ImportError(f'{path}: its crop_stage is not the one this benchmark knows '
                                  '(the paste-back fix cannot be applied)')
            text = text.replace(*PASTE_GUARD)
        return compile(text, path, 'exec', dont_inherit=True)


class _CPUFinder:
    """Finds the ``wsol`` package in one folder only, loaded by :class:`_CPULoader`."""

    def __init__(self, root: str) -> None:
        self.root = root

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'wsol' and not fullname.startswith('wsol.'):
            return None
        spec = importlib.machinery.PathFinder.find_spec(
            fullname, [self.root] if fullname == 'wsol' else path)
        if spec is not None and spec.origin and spec.origin.startswith(self.root):
            spec.loader = _CPULoader(fullname, spec.origin)
        return spec


def som_package(method: str, root: str) -> types.ModuleType:
    """small_object_wsol's ``wsol`` package, CPU placements (see the module doc)."""
    check_checkout(method, root)
    if 'wsol' not in sys.modules:
        if not hasattr(np, 'float'):
            np.float = float  # the 2020 code's `astype(np.float)`
        if importlib.util.find_spec('sklearn') is None:  # imported by wsol.method.da only
            stub = types.ModuleType('sklearn.cluster')
            stub.k_means = None
            sys.modules['sklearn'], sys.modules['sklearn.cluster'] = types.ModuleType(
                'sklearn'), stub
        sys.meta_path.insert(0, _CPUFinder(osp.abspath(root)))
    return _import(method, root, 'wsol')


def build_released(method: str, root: str, size: int, drop_path: float = 0.1
                   ) -> torch.nn.Module:
    """The released model as its training script creates it (no pretrained weights;
    crop consistency with the feature-map and class-agnostic settings of wsol_mm's config)."""
    torch.manual_seed(0)
    if RELEASED[method]['repo'] == SOM:
        settings = crop_settings(method)
        entry = getattr(som_package(method, root), RELEASED[method]['arch'])
        return entry(architecture_type='cam', pretrained=False, num_classes=NUM_CLASSES,
                     large_feature_map=settings['large_feature_map'], pretrained_path=None,
                     dataset_name='CUB', adl_drop_rate=0.75, adl_drop_threshold=0.9,
                     acol_drop_threshold=0.7, original_feature_map=False,
                     attention_cam=settings['attention_cam'], use_inception_c=False,
                     drop_threshold=0.7, drop_prob=1)
    entry = getattr(deit_modules(method, root).models, RELEASED[method]['arch'])
    with warnings.catch_warnings():  # scipy's dtype FutureWarning in SCM's graph builder
        warnings.simplefilter('ignore', FutureWarning)
        return entry(pretrained=False, num_classes=NUM_CLASSES, drop_rate=0.0,
                     drop_path_rate=drop_path, img_size=size)


def crop_settings(method: str) -> dict:
    """The crop consistency settings of wsol_mm's config, as the released ``CropCAM`` and
    model take them (``class_agnostic`` is the released ``attention_cam``)."""
    model = load_cfg(METHODS[method][1], 224).model
    return dict(crop_threshold=model.crop_threshold, crop_ratio=model.crop_ratio,
                loss_ratio=model.loss_ratio, loss_pos=model.loss_pos, loss_neg=model.loss_neg,
                attention_cam=model.get('class_agnostic', False),
                large_feature_map=model.backbone.get('large_feature_map', False),
                crop_with_norm=model.get('crop_with_norm', False))


def released_loss_fn(method: str, root: str, plain: bool = False) -> Callable:
    """``(model, images, labels) -> total loss`` as the released training loop computes it
    (``plain``: the same model's cross entropy alone, the released plain step)."""
    if method == 'tscam':
        return lambda model, x, y: F.cross_entropy(model(x, return_cam=False), y)
    if method == 'scm':
        return lambda model, x, y: F.cross_entropy(model(x), y)
    if method.startswith('crop'):
        if plain:
            return lambda model, x, y: F.cross_entropy(model(x, y)['logits'], y)
        settings = crop_settings(method)
        crop = som_package(method, root).method.crop.CropCAM(
            settings.pop('large_feature_map'), False, architecture=RELEASED[method]['arch'],
            wsol_method='crop', other_method_loss_ratio=1, crop_method_loss_ratio=1,
            norm_method='minmax', percentile=0.6, **settings)
        return lambda model, x, y: crop.get_loss(crop.forward(model, x, y), y)[0]
    loss = deit_modules(method, root).loss
    pull_bg = loss.SimMaxLoss(metric='cos', alpha=0.75)
    push = loss.SimMinLoss(metric='cos')
    pull_fg = loss.SimMaxLoss(metric='cos', alpha=0.75)

    def lca_md(model, x, y):
        logits, fg, bg = model(x)
        contrastive = pull_bg(bg) + pull_fg(fg) + push(bg, fg)
        return ((1 - LCA_MD_CLS_WEIGHT) * contrastive
                + LCA_MD_CLS_WEIGHT * F.cross_entropy(logits, y))
    return lca_md


def released_optimizer(method: str, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The released optimizer: timm's AdamW (DeiT methods), main.py's two SGD groups."""
    if not method.startswith('crop'):
        from timm.optim import create_optimizer_v2
        return create_optimizer_v2(model, 'adamw', lr=5e-5, weight_decay=0.05, eps=1e-8)
    arch = RELEASED[method]['arch']
    fast = [p for n, p in model.named_parameters()
            if arch != 'resnet50' or any(s in n for s in RESNET_10X)]
    slow = [p for n, p in model.named_parameters()
            if arch == 'resnet50' and not any(s in n for s in RESNET_10X)]
    return torch.optim.SGD([dict(params=slow, lr=5e-4), dict(params=fast, lr=5e-3)], lr=5e-4,
                           momentum=0.9, weight_decay=5e-4, nesterov=True)


def released_variant(spec: dict) -> Variant:
    """The released step (``role`` 'released') or, for crop consistency, the released
    plain CAM step (``role`` 'released plain') of ``spec['method']`` from ``spec['root']``."""
    method, root, plain = spec['method'], spec['root'], spec['role'] == 'released plain'
    model = build_released(method, root, spec['size']).train()
    optim = released_optimizer(method, model)
    loss_fn = released_loss_fn(method, root, plain)
    _, images, labels = batch(spec['size'], spec['batch'], 'cpu')
    named = [('module.' + n, p) for n, p in model.named_parameters()]  # DataParallel names
    log_scopes = LOG_SCOPES if method in ('scm', 'lcamd') else []

    def deit_step() -> None:  # the order of the TS-CAM / SCM / LCA-MD loops
        logged = {n: p for scope in log_scopes for n, p in named if scope.match(n)}
        loss = loss_fn(model, images, labels)
        optim.zero_grad()
        loss.backward()
        optim.step()
        loss.item()
        del logged

    def crop_step() -> None:  # small_object_wsol's main.py: its loss read, its NaN guard
        loss = loss_fn(model, images, labels)
        loss.item()
        if not torch.isnan(loss):
            optim.zero_grad()
            loss.backward()
            optim.step()

    variant = Variant(spec['name'], crop_step if method.startswith('crop') else deit_step)
    variant.notes = f'{len(optim.param_groups)} param groups'
    return variant


def released_state(method: str, root: str, size: int) -> Tuple[torch.nn.Module, dict]:
    """The released model (seeded, stochastic depth off) and its weights in wsol_mm's
    keys, for the equal-losses check."""
    model = build_released(method, root, size, drop_path=0.0).train()
    return model, RELEASED[method]['convert'](model.state_dict())
