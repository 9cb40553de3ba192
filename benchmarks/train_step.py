"""Training-step speed of every method against a plain classifier of the same backbone.

For each backbone family: the shipped method configs (``pretrained`` off, CUB head = 200
classes, their own optimizer wrappers), wsol_mm's plain classifier of that backbone and,
for DeiT-S and ResNet50, the reference library's own plain step (timm
``deit_small_patch16_224`` + its AdamW param groups; torchvision ``resnet50`` with the
same stride-1 layer3/layer4 as wsolevaluation's CAM trunk + SGD). Each variant is built
and stepped in a process of its own, as a training run holds one model per process
(``--shared-process`` builds them all in this one; why it matters:
``benchmarks/variants.py``; ``--rounds R`` starts R processes per variant, one after
the other, as a heap's luck differs from process to process). The steps of a family are
timed round-robin (one step of
each variant in turn, one at a time, so load changes hit all of them alike; the steps of
the same index from the same seed, so wsol_mm's DeiT steps, which skip the branches of the
samples stochastic depth drops, drop the same samples: ``--independent-draws`` leaves
each process its own random stream) after warm-up
steps, the bfloat16 steps apart from the float32 ones (fewer processes at once); the
fastest timed step gives images/s (``--stat median`` for the median): other jobs on the
machine only ever slow a step down. A wsol_mm step is the
runner's ``model.train_step`` (preprocessor, forward, losses, backward, optimizer step);
a reference step is forward, cross entropy, backward, optimizer step on a pre-normalised
batch (on a GPU both sides copy their batch from host memory every step, as a training
loop does: wsol_mm's data preprocessor the uint8 images, the reference the float batch).

Printed per method: the overhead ratio (method step time / wsol_mm plain step time of the
same backbone) next to the released code's overhead ratio measured by the issue's author
(TS-CAM 1.02, SCM 1.17, LCA-MD 1.08, crop consistency ResNet50 2.08, VGG16 1.98,
InceptionV3 2.02; the plain step there = the same backbone's classifier), and the overhead
from the paired steps (step ``i`` of the method over step ``i`` of the plain classifier:
their median and the interval that holds the median with 95 % probability, below, above
or around the released ratio: a verdict that says when a target lies within the noise of
the run); the same step under bfloat16 autocast (``AutocastOptimWrapper``, what
``--amp`` uses) and its speed-up; the bytes autograd saves for backward (activations;
exact, device-independent); on a CPU the median minor page faults of a timed step
(memory that malloc gave back to the kernel and the step faults in and zeroes again:
glibc's share of the step time) and the peak resident memory of the variant's process
(one process per variant only: there each wsol_mm variant also runs with its config's
``env_cfg.cpu_malloc``, as ``tools/train.py`` would, named in the notes); and the
estimated ratio to the released code's images/s, ``img/s x released overhead / released
plain img/s``, where the released plain step is timm's (DeiT-S) or, for the CNNs (whose
configs feed the batch channels-last and train the wide 3x3 convolutions by Winograd),
wsol_mm's plain step in the contiguous NCHW order and with the direct convolutions the
released code uses (timed as ``contiguous``). Per backbone: wsol_mm's plain step against
timm's / torchvision's, with channels-last (also from the paired steps) and in contiguous
order. ``--ablate-optimizer``
adds, for the DeiT methods, the same model with mmengine's one-group-per-parameter
constructor and torch's default AdamW loop (the optimizer setup before this change).

Usage:
    python benchmarks/train_step.py [--methods tscam scm ...] [--batch 8] [--size 224]
        [--steps 3] [--rounds 1] [--warmup 1] [--threads 2] [--no-bf16] [--ablate-optimizer]
        [--device cuda] [--sync-sites] [--malloc tcmalloc] [--shared-process]
        [--independent-draws]

On a GPU (``--device cuda``) the tables also give the peak allocated memory of one step
and the synchronising CUDA calls per step (torch's sync debug mode; ``--sync-sites``
prints the lines that make them). benchmarks/gpu_checks.sh runs it there in fp32 and bf16.
"""
import argparse
import inspect
import itertools
import logging
import os.path as osp
import sys
from statistics import median
from typing import Dict, List

import torch
import torch.nn.functional as F
import variants as processes
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from step_report import (  # benchmarks/ (on sys.path)
    PAIRED_NOTE,
    STAT,
    STAT_NAME,
    below_released,
    ips,
    machine_line,
    markdown_table,
    mb,
    paired_reading,
    step_time,
)
from variants import Variant, VariantProcess, print_steps, run_family

import wsol_mm.compat  # noqa: F401  (its shim before timm / torchvision)
from wsol_mm.malloc_preload import reexec_with_tcmalloc
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')
NUM_CLASSES = 200
# method -> (backbone family, shipped config, released overhead ratio from issue 14; CAM
# has none: the released CAM step is the plain classifier step)
METHODS: Dict[str, tuple] = {
    'tscam': ('deit_s', 'configs/tscam/deit_s_cub.py', 1.02),
    'scm': ('deit_s', 'configs/scm/deit_s_cub.py', 1.17),
    'lcamd': ('deit_s', 'configs/lca_md/deit_s_cub.py', 1.08),
    'cam_resnet50': ('resnet50', 'configs/cam/resnet50_cub.py', None),
    'crop_resnet50': ('resnet50', 'configs/crop/resnet50_cub.py', 2.08),
    'crop_vgg16': ('vgg16', 'configs/crop/vgg16_cub.py', 1.98),
    'crop_inception_v3': ('inception_v3', 'configs/crop/inception_v3_cub.py', 2.02),
}
REFERENCE = dict(deit_s='timm', resnet50='torchvision')


def batch(size: int, n: int, device: str) -> tuple:
    """(wsol_mm data dict with uint8 images, normalised float batch, labels).

    Everything stays in host memory, as a data loader hands it over: each side's step
    copies its batch to ``device`` (wsol_mm's data preprocessor the uint8 images, the
    reference step the float batch and labels, pinned for a GPU: the fastest copy a
    loader gives, that of ``pin_memory=True``).
    """
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    samples = []
    for i in range(n):
        sample = WSOLDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size)))
        sample.set_gt_label((7 * i) % NUM_CLASSES)
        samples.append(sample)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    normed = (imgs.flip(1).float() - mean) / std
    labels = torch.tensor([(7 * i) % NUM_CLASSES for i in range(n)])
    if device.startswith('cuda'):
        normed, labels = normed.pin_memory(), labels.pin_memory()
    return dict(inputs=list(imgs), data_samples=samples), normed, labels


def load_cfg(path: str, size: int) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, path))
    backbone = cfg.model.get('backbone', {})
    if 'pretrained' in backbone:
        backbone.pretrained = None
    if 'img_size' in backbone:
        backbone.img_size = size
    return cfg


def plain_model_cfg(family: str, cfg: Config) -> dict:
    """wsol_mm's plain classifier of the family's backbone (one pass, cross entropy)."""
    model = dict(cfg.model)
    if family == 'deit_s':  # the same ViT trunk, GAP + linear head, no attention rows
        backbone = dict(model['backbone'], out_cls_attention=False)
        return dict(type='CAMLocalizer', backbone=backbone,
                    head=dict(type='CAMHead', num_classes=NUM_CLASSES, in_channels=384))
    if model['type'] != 'CropConsistency':  # CAM: its own model is the plain classifier
        return model
    # crop consistency: the wrapped localizer alone (same backbone, head and strides)
    crop_args = inspect.signature(MODELS.get('CropConsistency').__init__).parameters
    out = {k: v for k, v in model.items() if k not in crop_args}
    out['type'] = model['localizer']
    return out


def _contiguous(model_cfg: dict) -> dict:
    """The same model as the released code runs it: the batch in the default (contiguous
    NCHW) memory order and the direct convolutions (no ``winograd_convs``)."""
    return dict(model_cfg, winograd_convs=False,
                data_preprocessor=dict(model_cfg['data_preprocessor'], channels_last=False))


def wsol_variant(name: str, model_cfg: dict, optim_cfg: dict, data: dict, device: str,
                 bf16: bool = False) -> Variant:
    model = MODELS.build(model_cfg).to(device).train()
    optim_cfg = dict(optim_cfg)
    if bf16:
        optim_cfg.update(type='AutocastOptimWrapper', dtype='bfloat16')
    wrapper = build_optim_wrapper(model, optim_cfg)
    groups = len(wrapper.optimizer.param_groups)
    variant = Variant(name, lambda: model.train_step(data, wrapper))
    variant.notes = f'{groups} param groups'
    return variant


def reference_variant(name: str, family: str, size: int, inputs: torch.Tensor,
                      labels: torch.Tensor, device: str, bf16: bool = False) -> Variant:
    """timm / torchvision plain step with the released recipe's optimizer setup."""
    if family == 'deit_s':
        import timm
        from timm.optim import create_optimizer_v2
        net = timm.create_model('deit_small_patch16_224', num_classes=NUM_CLASSES,
                                img_size=size, drop_path_rate=0.1).to(device).train()
        optim = create_optimizer_v2(net, 'adamw', lr=5e-5, weight_decay=0.05, eps=1e-8)
    else:
        import torchvision
        net = torchvision.models.resnet50(num_classes=NUM_CLASSES)
        for layer in (net.layer3, net.layer4):  # wsolevaluation's large-map CAM strides
            layer[0].conv2.stride = (1, 1)
            layer[0].downsample[0].stride = (1, 1)
        net = net.to(device).train()
        head = [p for n, p in net.named_parameters() if n.startswith(('layer4.', 'fc.'))]
        trunk = [p for n, p in net.named_parameters() if not n.startswith(('layer4.', 'fc.'))]
        # wsolevaluation's two groups: features at lr, layer4 + classifier at 10x
        optim = torch.optim.SGD([dict(params=trunk), dict(params=head, lr=5e-3)], lr=5e-4,
                                momentum=0.9, nesterov=True, weight_decay=5e-4)

    def step() -> None:
        # the released loops' `images.cuda(non_blocking=True)` (no copy on a CPU)
        x, y = inputs.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with torch.autocast(device_type=device.split(':')[0], dtype=torch.bfloat16,
                            enabled=bf16):
            loss = F.cross_entropy(net(x).float(), y)
        loss.backward()
        optim.step()
        optim.zero_grad(set_to_none=True)

    variant = Variant(name, step)
    variant.notes = f'{len(optim.param_groups)} param groups'
    return variant


def plain_source(methods: List[str]) -> str:
    """The method whose config gives a family's plain step (model and ``env_cfg``): the
    crop consistency's own localizer where the family has one."""
    return next((m for m in methods if m.startswith('crop')), methods[0])


def family_specs(family: str, methods: List[str], args: argparse.Namespace) -> List[dict]:
    """The variants of one backbone family, as picklable descriptions (``build_variant``)."""
    first = plain_source(methods)
    channels_last = plain_model_cfg(family, load_cfg(METHODS[first][1], args.size)).get(
        'data_preprocessor', {}).get('channels_last')
    roles = [('plain', first)] + ([('contiguous', first)] if channels_last else [])
    roles += [('ref', first)] if family in REFERENCE else []
    roles += [('method', m) for m in methods]
    specs = []
    for use_bf16 in ([False] if args.no_bf16 else [False, True]):
        for role, method in roles:
            name = (method if role == 'method' else role) + (' bf16' if use_bf16 else '')
            specs.append(dict(name=name, role=role, family=family, config=METHODS[method][1],
                              size=args.size, batch=args.batch, device=args.device,
                              bf16=use_bf16, config_malloc=not args.shared_process))
    if args.ablate_optimizer and family == 'deit_s':
        specs += [dict(specs[0], name=m + ' before', role='before', config=METHODS[m][1])
                  for m in methods]
    return specs


def build_variant(spec: dict) -> Variant:
    """A variant from its description: ``role`` plain / contiguous / ref / method / before
    (the method with mmengine's one-group-per-parameter constructor), ``config`` the shipped
    config it comes from, ``family``, ``size``, ``batch``, ``device``, ``bf16``;
    ``config_malloc``: apply the config's ``env_cfg.cpu_malloc`` first, as the runner does
    (for a variant in a process of its own; noted in the variant's notes)."""
    register_all_modules()
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-parameter lines
    data, normed, labels = batch(spec['size'], spec['batch'], spec['device'])
    role, family, device = spec['role'], spec['family'], spec['device']
    if role == 'ref':
        return reference_variant(spec['name'], family, spec['size'], normed, labels, device,
                                 spec['bf16'])
    cfg = load_cfg(spec['config'], spec['size'])
    # the config's glibc settings, as the runner applies them to a training run on a CPU
    # (process-wide: only where the variant has a process of its own)
    malloc = apply_cpu_malloc(cfg.env_cfg.get('cpu_malloc'), on_cpu=device == 'cpu') \
        if spec.get('config_malloc') else ''
    model, optim = cfg.model, cfg.optim_wrapper
    if role in ('plain', 'contiguous'):
        model = plain_model_cfg(family, cfg)
        model = _contiguous(model) if role == 'contiguous' else model
    elif role == 'before':
        optim = dict(optim, constructor='DefaultOptimWrapperConstructor')
    variant = wsol_variant(spec['name'], model, optim, data, device, spec['bf16'])
    variant.notes += f', {malloc}' if malloc else ''
    return variant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=list(METHODS))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=3,
                        help='timed steps per variant and round')
    parser.add_argument('--rounds', type=int, default=1,
                        help='fresh processes per variant, one after the other (each '
                        'process has its own heap: more rounds, less of its luck)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--stat', choices=list(STAT), default='min',
                        help='step time statistic over the timed steps')
    parser.add_argument('--no-bf16', action='store_true', help='skip the bfloat16 steps')
    parser.add_argument('--sync-sites', action='store_true',
                        help='GPU: print where each variant synchronises with the host')
    parser.add_argument('--ablate-optimizer', action='store_true',
                        help='also time the DeiT methods with the previous optimizer setup')
    parser.add_argument('--malloc', choices=['glibc', 'tcmalloc'], default='glibc',
                        help='allocator of this process (all variants alike): tcmalloc '
                        're-runs the script with it preloaded, as tools/train.py does')
    processes.add_start_method_argument(parser)
    processes.add_draws_argument(parser)
    parser.add_argument('--shared-process', action='store_true',
                        help='build and time every variant in this one process (their '
                        'allocations then share one heap; see benchmarks/variants.py)')
    args = parser.parse_args()
    processes.set_start_method(args.start_method)
    if args.malloc == 'tcmalloc':
        reexec_with_tcmalloc(required=True)
    torch.set_num_threads(args.threads)
    STAT_NAME[0] = args.stat
    bf16 = not args.no_bf16
    where = 'one process' if args.shared_process else 'one process per variant'
    print(f'# train step, batch {args.batch}, {args.size} px, {NUM_CLASSES} classes, '
          f'{args.warmup} warm-up + {args.steps} timed steps ({args.stat}), round-robin, '
          f'{where}, {processes.draws_note(args)}'
          + (f', {args.rounds} rounds' if args.rounds > 1 else ''))
    print('# ' + machine_line(args.device, args.threads))
    families: Dict[str, List[str]] = {}
    for method in args.methods:
        families.setdefault(METHODS[method][0], []).append(method)
    method_rows, plain_rows = [], []
    for family, methods in families.items():
        variants = {s['name']: (build_variant(s) if args.shared_process else
                                VariantProcess(build_variant, s, args.threads))
                    for s in family_specs(family, methods, args)}
        # float32 and bfloat16 timed apart: fewer processes (and their heaps) at once
        for r, bf16_group in itertools.product(range(args.rounds), (False, True)):
            group = [v for v in variants.values() if v.name.endswith(' bf16') == bf16_group]
            if group:
                print(f'# timing {family}, round {r + 1}: {", ".join(v.name for v in group)}',
                      file=sys.stderr, flush=True)
                run_family(group, args.warmup, args.steps, args.device,
                           processes.round_seed(args, r))
        print_steps(list(variants.values()))
        if args.sync_sites and args.device.startswith('cuda'):
            for v in variants.values():
                sites = ', '.join(f'{site} x{n}' for site, n in v.sync_sites.most_common(6))
                print(f'# host syncs, {v.name}: {v.host_syncs} ({sites})')
        method_rows += family_method_rows(family, methods, variants, args.batch, bf16,
                                          args.steps)
        plain_rows += family_plain_rows(family, plain_source(methods), variants, args.batch)
    print_tables(method_rows, plain_rows, args.device, bf16)


def family_method_rows(family: str, methods: List[str], variants: Dict[str, Variant],
                       n: int, bf16: bool, steps: int) -> List[list]:
    rows = []
    plain = variants['plain']
    for m in methods:
        v = variants[m]
        overhead = step_time(v) / step_time(plain)
        released = METHODS[m][2]
        row = [m, f'{ips(v, n):.2f}', f'{ips(plain, n):.2f}', f'{overhead:.3f}']
        row += (['-', '-', '-', '-'] if released is None else
                [f'{released:.2f}', below_released(v, plain, steps, released),
                 paired_reading(v, plain, released),
                 f'{ips(v, n) * released / ips(released_plain(family, variants), n):.2f}'])
        if bf16:
            vb = variants[m + ' bf16']
            row += [f'{ips(vb, n):.2f}', f'{step_time(v) / step_time(vb):.2f}']
        row += [f'{mb(v.saved_bytes)} / {mb(plain.saved_bytes)}']
        if v.peak_cuda is not None:
            row += [f'{mb(v.peak_cuda)} / {mb(plain.peak_cuda)}',
                    f'{v.host_syncs} / {plain.host_syncs}']
        else:  # pages that malloc gave back and the step touches again (docs/speed.md)
            row += [f'{median(v.faults) / 1e3:.0f} / {median(plain.faults) / 1e3:.0f}',
                    f'{mb(v.peak_rss)} / {mb(plain.peak_rss)}']
        row.append(v.notes)
        if m + ' before' in variants:
            vo = variants[m + ' before']
            row[-1] += (f'; before (mmengine groups, {vo.notes}, loop AdamW): '
                        f'{ips(vo, n):.2f} img/s, overhead '
                        f'{step_time(vo) / step_time(plain):.2f}')
        rows.append(row)
    return rows


def released_plain(family: str, variants: Dict[str, Variant]) -> Variant:
    """Stand-in for the released code's plain step: timm's for DeiT-S, else wsol_mm's plain
    step in the released code's contiguous memory order, with direct convolutions
    (torchvision's speed, see the backbone table)."""
    return variants['ref' if family == 'deit_s' else
                    'contiguous' if 'contiguous' in variants else 'plain']


def family_plain_rows(family: str, source: str, variants: Dict[str, Variant],
                      n: int) -> List[list]:
    """The plain step against the reference's; the notes name the config (and so the heap
    settings, ``env_cfg.cpu_malloc``) the plain step ran under."""
    if 'ref' not in variants:
        return []
    plain, ref = variants['plain'], variants['ref']
    contiguous = variants.get('contiguous')
    row = [family, f'{ips(plain, n):.2f}', REFERENCE[family], f'{ips(ref, n):.2f}',
           f'{step_time(ref) / step_time(plain):.2f}', paired_reading(ref, plain, 1.0, digits=2),
           '-' if contiguous is None else f'{step_time(ref) / step_time(contiguous):.2f}',
           f'{mb(plain.saved_bytes)} / {mb(ref.saved_bytes)}']
    peak = ('peak_rss', 'peak_cuda')[plain.peak_cuda is not None]
    row += [f'{mb(getattr(plain, peak))} / {mb(getattr(ref, peak))}']
    if 'ref bf16' in variants:
        row += [f'{ips(variants["plain bf16"], n):.2f}', f'{ips(variants["ref bf16"], n):.2f}']
    row += [f"wsol_mm: {plain.notes} ({source}'s config); {REFERENCE[family]}: {ref.notes}"]
    return [row]


def print_tables(method_rows: List[list], plain_rows: List[list], device: str,
                 bf16: bool) -> None:
    gpu = device.startswith('cuda')
    header = ['method', 'img/s', 'plain img/s', 'overhead', 'released overhead',
              'below released', 'overhead, paired steps (95 % interval)',
              'x released img/s (est.)']
    header += ['bf16 img/s', 'bf16 speed-up'] if bf16 else []
    header += ['saved activations MB (method / plain)']
    header += ['peak GPU MB (method / plain)', 'host syncs per step (method / plain)'] \
        if gpu else ['page faults per step, thousands (method / plain)',
                     'peak RSS MB (method / plain)']
    print()
    markdown_table(header + ['notes'], method_rows)
    if plain_rows:
        print()
        header = ['backbone', 'wsol_mm plain img/s', 'reference', 'reference img/s',
                  'wsol_mm / reference speed', 'same, paired steps (95 % interval; against 1.0x)',
                  'same, contiguous NCHW, direct convs',
                  'saved activations MB (wsol_mm / reference)']
        header += [f'peak {"GPU" if gpu else "RSS"} MB (wsol_mm / reference)']
        header += ['wsol_mm bf16 img/s', 'reference bf16 img/s'] if bf16 else []
        markdown_table(header + ['notes'], plain_rows)
    if method_rows:
        print('\n# x released img/s (est.) = img/s x released overhead / released plain img/s; '
              'released plain = timm (DeiT-S), else wsol_mm plain in contiguous NCHW order '
              'with direct convolutions')
        print(PAIRED_NOTE)
    print('\n# ' + machine_line(device, torch.get_num_threads()).split(', ')[-1])


if __name__ == '__main__':
    main()
