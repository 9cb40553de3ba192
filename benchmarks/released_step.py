"""The DeiT-S methods' training step against the released code itself, run from its checkouts.

``benchmarks/train_step.py`` cannot run the released code, so it *estimates* wsol_mm's
speed against it from each method's overhead over a plain step and the released overhead
ratios measured on the issue author's machine. This script measures instead: it imports
the released TS-CAM, SCM and LCA-MD models from checkouts of their repositories and times
their training step (the loop body of each ``tools_cam/train_cam.py``: forward, the
losses, ``zero_grad``, backward, the timm AdamW step, ``loss.item()``) against wsol_mm's
step of the shipped config, on the same batch, one process per variant, round-robin
(``benchmarks/variants.py``). timm's plain DeiT-S step and wsol_mm's plain step run too,
so the released overheads on *this* machine are printed beside the issue's.

Before timing, the equal-losses check: per method, the released model (seed 0, stochastic
depth off) and wsol_mm's model loaded with its weights through wsol_mm's converter
(``wsol_mm/models/converters``) compute the step's total loss on the same batch; the
script stops (exit 1) when they differ by more than float32 noise.

What the released loops also do and this leaves out (in their favour): the top-1/top-5
accuracy and TensorBoard scalars of every step. The released code runs as it is (today's
torch and timm); only its package ``__init__`` files are bypassed (the model files are
imported directly). SCM and LCA-MD import ``einops`` (``pip install einops``).

Usage:
    git clone https://github.com/vasgaowei/TS-CAM
    git clone https://github.com/hbai98/SCM
    git clone https://github.com/rjy-fighting/LCA-MD
    python benchmarks/released_step.py --tscam TS-CAM --scm SCM --lcamd LCA-MD \
        [--rounds 2] [--steps 3] [--batch 8] [--size 224] [--threads 2]
"""
import argparse
import importlib
import importlib.util
import os.path as osp
import re
import sys
import types
import warnings
from statistics import median
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from train_step import (
    METHODS,
    NUM_CLASSES,
    STAT,
    STAT_NAME,
    batch,
    build_variant,
    ips,
    load_cfg,
    machine_line,
    step_time,
)
from variants import Variant, VariantProcess, run_family  # benchmarks/ (on sys.path)

from wsol_mm.models.converters import convert_lca_md, convert_scm, convert_tscam
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

# method -> the released repository, its model entry point, the converter to wsol_mm keys
RELEASED: Dict[str, dict] = {
    'tscam': dict(repo='vasgaowei/TS-CAM', arch='deit_tscam_small_patch16_224',
                  convert=convert_tscam),
    'scm': dict(repo='hbai98/SCM', arch='deit_scm_small_patch16_224', convert=convert_scm),
    'lcamd': dict(repo='rjy-fighting/LCA-MD', arch='deit_lca_md_small_patch16_224',
                  convert=lambda state: convert_lca_md(state)[0]),
}
# SCM and LCA-MD collect these parameters for logging in every step
LOG_SCOPES = [re.compile(s) for s in
              ('module.layers.[0-9]+.fuse._loss_rate', 'module.layers.[0-9]+.thred')]
LCA_MD_CLS_WEIGHT = 0.6  # the released loop's delta: (1 - delta) * contrastive + delta * cls


def check_checkout(method: str, root: str) -> None:
    """Exit with one message when ``root`` is not a checkout of the method's repository."""
    path = osp.join(root, 'lib', 'models', 'deit.py')
    if not osp.isfile(path):
        sys.exit(f'--{method} {root}: no lib/models/deit.py there; pass the root of a '
                 f'checkout of https://github.com/{RELEASED[method]["repo"]}')


def released_modules(method: str, root: str) -> types.SimpleNamespace:
    """The checkout's model module (and LCA-MD's loss module), imported from their files.

    ``lib/models`` becomes a package without running its ``__init__`` (TS-CAM's imports its
    VGG models too); the files' own relative imports work as in the repository.
    """
    check_checkout(method, root)
    import timm.layers.classifier
    # moved since the releases (timm 0.3-0.4): the old path, for their imports
    sys.modules.setdefault('timm.models.layers.classifier', timm.layers.classifier)
    name = f'released_{method}_models'
    package = types.ModuleType(name)
    package.__path__ = [osp.join(root, 'lib', 'models')]
    sys.modules[name] = package
    try:
        with warnings.catch_warnings():  # timm: "Overwriting vit_... in registry"
            warnings.simplefilter('ignore')
            models = importlib.import_module(f'{name}.deit')
    except ModuleNotFoundError as err:
        top = (err.name or '').split('.')[0]
        hint = (f'pip install {top}' if importlib.util.find_spec(top) is None else
                f'the installed {top} no longer has it')
        sys.exit(f'--{method} {root}: the released model imports `{err.name}` ({hint})')
    loss = None
    if method == 'lcamd':
        spec = importlib.util.spec_from_file_location(
            f'released_{method}_loss', osp.join(root, 'lib', 'core', 'loss.py'))
        loss = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loss)
    return types.SimpleNamespace(models=models, loss=loss)


def build_released(method: str, root: str, size: int, drop_path: float) -> torch.nn.Module:
    """The released model as its ``train_cam.py`` creates it (no pretrained download)."""
    modules = released_modules(method, root)
    torch.manual_seed(0)
    entry = getattr(modules.models, RELEASED[method]['arch'])
    with warnings.catch_warnings():  # scipy's dtype FutureWarning in SCM's graph builder
        warnings.simplefilter('ignore', FutureWarning)
        return entry(pretrained=False, num_classes=NUM_CLASSES, drop_rate=0.0,
                     drop_path_rate=drop_path, img_size=size)


def released_loss_fn(method: str, root: str) -> Callable:
    """``(model, images, labels) -> total loss`` as the released training loop computes it."""
    if method == 'tscam':
        return lambda model, x, y: F.cross_entropy(model(x, return_cam=False), y)
    if method == 'scm':
        return lambda model, x, y: F.cross_entropy(model(x), y)
    loss = released_modules(method, root).loss
    pull_bg = loss.SimMaxLoss(metric='cos', alpha=0.75)
    push = loss.SimMinLoss(metric='cos')
    pull_fg = loss.SimMaxLoss(metric='cos', alpha=0.75)

    def lca_md(model, x, y):
        logits, fg, bg = model(x)
        contrastive = pull_bg(bg) + pull_fg(fg) + push(bg, fg)
        return ((1 - LCA_MD_CLS_WEIGHT) * contrastive
                + LCA_MD_CLS_WEIGHT * F.cross_entropy(logits, y))
    return lca_md


def released_variant(spec: dict) -> Variant:
    """The released step of ``spec['method']`` from the checkout ``spec['root']``."""
    from timm.optim import create_optimizer_v2
    method, root = spec['method'], spec['root']
    model = build_released(method, root, spec['size'], drop_path=0.1).train()
    optim = create_optimizer_v2(model, 'adamw', lr=5e-5, weight_decay=0.05, eps=1e-8)
    loss_fn = released_loss_fn(method, root)
    _, images, labels = batch(spec['size'], spec['batch'], 'cpu')
    named = [('module.' + n, p) for n, p in model.named_parameters()]  # DataParallel names
    log_scopes = LOG_SCOPES if method != 'tscam' else []

    def step() -> None:
        logged = {n: p for scope in log_scopes for n, p in named if scope.match(n)}
        loss = loss_fn(model, images, labels)
        optim.zero_grad()
        loss.backward()
        optim.step()
        loss.item()
        del logged

    variant = Variant(spec['name'], step)
    variant.notes = f'{len(optim.param_groups)} param groups'
    return variant


def build(spec: dict) -> Variant:
    """A released variant, or one of ``train_step.py``'s (wsol_mm's method, plain, timm)."""
    return released_variant(spec) if spec['role'] == 'released' else build_variant(spec)


def check_losses(method: str, root: str, size: int, n: int) -> str:
    """The equal-losses check (see the module doc); exits 1 when the losses differ."""
    register_all_modules()
    released = build_released(method, root, size, drop_path=0.0).train()
    cfg = load_cfg(METHODS[method][1], size)
    cfg.model.backbone.drop_path_rate = 0.0
    model = MODELS.build(cfg.model).train()
    model.load_state_dict(RELEASED[method]['convert'](released.state_dict()), strict=True)
    data, images, labels = batch(size, n, 'cpu')
    with torch.no_grad():
        ours, _ = model.parse_losses(model(**model.data_preprocessor(data, True), mode='loss'))
        theirs = released_loss_fn(method, root)(released, images, labels)
    diff = abs(float(ours) - float(theirs))
    line = f'{method}: released {float(theirs):.6f}, wsol_mm {float(ours):.6f}'
    if diff > 1e-4 * max(1.0, abs(float(theirs))):
        sys.exit(f'# equal losses FAILED, {line}')
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for method, info in RELEASED.items():
        parser.add_argument(f'--{method}', metavar='DIR',
                            help=f'checkout of https://github.com/{info["repo"]}')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=3, help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=1,
                        help='fresh processes per variant, one after the other')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--stat', choices=list(STAT), default='min')
    args = parser.parse_args()
    roots = {m: getattr(args, m) for m in RELEASED if getattr(args, m)}
    if not roots:
        parser.error('pass at least one checkout: ' +
                     ', '.join(f'--{m} DIR' for m in RELEASED))
    for method, root in roots.items():
        check_checkout(method, root)
    torch.set_num_threads(args.threads)
    STAT_NAME[0] = args.stat
    print(f'# train step, batch {args.batch}, {args.size} px, {NUM_CLASSES} classes, '
          f'{args.warmup} warm-up + {args.steps} timed steps ({args.stat}), round-robin, one '
          f'process per variant, {args.rounds} round(s)')
    print('# ' + machine_line('cpu', args.threads))
    for method, root in roots.items():
        print(f'# equal losses, {check_losses(method, root, args.size, args.batch)}',
              flush=True)
    common = dict(family='deit_s', size=args.size, batch=args.batch, device='cpu', bf16=False)
    specs = [dict(common, name='plain', role='plain', config=METHODS['tscam'][1]),
             dict(common, name='timm', role='ref', config=METHODS['tscam'][1])]
    for method, root in roots.items():
        specs += [dict(common, name=method, role='method', config=METHODS[method][1]),
                  dict(common, name=f'released {method}', role='released', method=method,
                       root=osp.abspath(root))]
    variants = {s['name']: VariantProcess(build, s, args.threads) for s in specs}
    for r in range(args.rounds):
        print(f'# timing, round {r + 1}: {", ".join(variants)}', file=sys.stderr, flush=True)
        run_family(list(variants.values()), args.warmup, args.steps, 'cpu')
    for v in variants.values():
        print(f'# steps {v.name}: {" ".join(f"{t:.2f}" for t in v.times)} s, page faults '
              f'{" ".join(str(f // 1000) for f in v.faults)} thousand',
              file=sys.stderr, flush=True)
    print_table(list(roots), variants, args.batch)


def _row(name: str, ours: Variant, theirs: Variant, n: int, overheads: List[str]) -> list:
    return [name, f'{ips(ours, n):.2f}', f'{ips(theirs, n):.2f}',
            f'{step_time(theirs) / step_time(ours):.2f}'] + overheads + [
        f'{median(ours.faults) / 1e3:.0f} / {median(theirs.faults) / 1e3:.0f}',
        f'{_mb(ours.peak_rss)} / {_mb(theirs.peak_rss)}']


def _mb(nbytes: Optional[int]) -> str:
    return '-' if nbytes is None else f'{nbytes / 2**20:.0f}'


def print_table(methods: List[str], variants: Dict[str, Variant], n: int) -> None:
    plain, timm = variants['plain'], variants['timm']
    header = ['step', 'wsol_mm img/s', 'released img/s', 'wsol_mm / released speed',
              'overhead (wsol_mm)', 'released overhead here', "released overhead (issue's)",
              'page faults per step, thousands (wsol_mm / released)',
              'peak RSS MB (wsol_mm / released)']
    print('\n| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join(' --- ' for _ in header) + '|')
    for m in methods:
        ours, theirs = variants[m], variants[f'released {m}']
        row = _row(m, ours, theirs, n, [
            f'{step_time(ours) / step_time(plain):.2f}',
            f'{step_time(theirs) / step_time(timm):.2f}', f'{METHODS[m][2]:.2f}'])
        print('| ' + ' | '.join(row) + ' |')
    row = _row('plain DeiT-S (released: timm)', plain, timm, n, ['-', '-', '-'])
    print('| ' + ' | '.join(row) + ' |')
    print('\n# overheads: step time / the plain step of the same code (wsol_mm: its plain '
          'DeiT-S; released: timm\'s)')
    print('# ' + machine_line('cpu', torch.get_num_threads()).split(', ')[-1])


if __name__ == '__main__':
    main()
