"""Every method's training step against the released code itself, run from its checkouts.

``benchmarks/train_step.py`` cannot run the released code, so it *estimates* wsol_mm's
speed against it from each method's overhead over a plain step and the released overhead
ratios measured on the issue author's machine. This script measures instead: it imports
the released models and losses from checkouts of their repositories
(``benchmarks/released_code.py`` says how) and times their training step against
wsol_mm's step of the shipped config, on the same batch, one process per variant,
round-robin (``benchmarks/variants.py``):

* TS-CAM, SCM, LCA-MD (DeiT-S): the loop body of each ``tools_cam/train_cam.py``
  (forward, the losses, ``zero_grad``, backward, timm's AdamW step, ``loss.item()``);
  timm's plain DeiT-S step and wsol_mm's plain step run beside them.
* Crop consistency (ResNet50, VGG16, InceptionV3, CUB settings of wsol_mm's configs):
  small_object_wsol's ``main.py`` step (``CropCAM.forward`` and ``get_loss``, the loss
  read, the NaN guard, two-group SGD); the released plain CAM step (the same model, cross
  entropy) and wsol_mm's plain step run beside them.

So the released overheads on *this* machine are printed beside the issue's, with each
process's peak resident memory. The speed ratio and wsol_mm's overhead also come from the
paired steps (step ``i`` of one side over step ``i`` of the other: the median and the
interval that holds it with 95 % probability, against the issue's 1.1x and its released
overhead), which says whether a run decides a target or leaves it within its noise.
Each wsol_mm process first applies its config's ``env_cfg.cpu_malloc`` (glibc settings,
on in the DeiT configs), as ``tools/train.py`` does; the released processes run with
glibc's defaults, as the released scripts do. A
step with stochastic depth does more or less work with the samples it drops (wsol_mm
skips their branches): every variant's ``i``-th timed step of a round starts from the
same seed, so wsol_mm's steps of the same index drop the same samples
(``--independent-draws``: each process's own stream), and compare with ``--stat median``.

``--live-peaks``: glibc's heap makes a process's peak depend on its history (what it kept
of freed blocks, where its mmap threshold had risen to): the same variant peaked up to
110 MB apart in two processes. With this option every process maps each allocation above
128 KB on its own and unmaps it when freed (``MALLOC_MMAP_THRESHOLD_``; wsol_mm's
processes without their configs' glibc settings), so that its peak counts the tensors
alive at the step's worst moment, the same in every round; the steps are slower then
(every large allocation faults its pages in), so compare only the memory columns.

Before timing, the equal-losses check: per method, the released model (seed 0, stochastic
depth off) and wsol_mm's model loaded with its weights through wsol_mm's converter
(``wsol_mm/models/converters``) compute the step's total loss on the same batch; the
script stops (exit 1) when they differ by more than float32 noise.

Left out of the released steps (in their favour): the top-1/top-5 accuracy and
TensorBoard scalars of every step. SCM and LCA-MD import ``einops`` and ``scipy``
(``pip install einops scipy``).

Usage:
    git clone https://github.com/vasgaowei/TS-CAM
    git clone https://github.com/hbai98/SCM
    git clone https://github.com/rjy-fighting/LCA-MD
    git clone https://github.com/dongjunhwang/small_object_wsol
    python benchmarks/released_step.py --tscam TS-CAM --scm SCM --lcamd LCA-MD \
        --small-object-wsol small_object_wsol [--crop-backbones resnet50 vgg16 inception_v3]
        [--rounds 2] [--steps 3] [--batch 8] [--size 224] [--threads 2] [--live-peaks]
"""
import argparse
import os
import os.path as osp
import sys
from statistics import median
from typing import Dict, List

import torch
from released_code import (
    RELEASED,
    check_checkout,
    released_loss_fn,
    released_state,
    released_variant,
)
from step_report import (
    PAIRED_NOTE,
    STAT,
    STAT_NAME,
    ips,
    machine_line,
    markdown_table,
    mb,
    paired_reading,
    round_ratios,
    step_time,
)
from train_step import METHODS, NUM_CLASSES, batch, build_variant, load_cfg
from variants import (  # benchmarks/ (on sys.path)
    LIVE_PEAKS_THRESHOLD,
    Variant,
    VariantProcess,
    add_draws_argument,
    add_start_method_argument,
    draws_note,
    print_steps,
    round_seed,
    run_family,
    set_start_method,
)

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

BACKBONES = ('resnet50', 'vgg16', 'inception_v3')
#: issue 14: every method's step at least this many times the released step's images/s
SPEED_TARGET = 1.1
PLAIN_NAMES = dict(deit_s='DeiT-S (released: timm)', resnet50='ResNet50',
                   vgg16='VGG16', inception_v3='InceptionV3')


def build(spec: dict) -> Variant:
    """A released variant, or one of ``train_step.py``'s (wsol_mm's method, plain, timm)."""
    variant = released_variant(spec) if spec['role'].startswith('released') else \
        build_variant(spec)
    threshold = os.environ.get('MALLOC_MMAP_THRESHOLD_')
    if threshold:  # --live-peaks, as this process received it
        variant.notes += f'{", " if variant.notes else ""}glibc mmap threshold {threshold} B'
    return variant


def check_losses(method: str, root: str, size: int, n: int) -> str:
    """The equal-losses check (see the module doc); exits 1 when the losses differ."""
    register_all_modules()
    released, state = released_state(method, root, size)
    cfg = load_cfg(METHODS[method][1], size)
    if 'drop_path_rate' in cfg.model.backbone:
        cfg.model.backbone.drop_path_rate = 0.0
    if method.startswith('crop'):  # the released contour loop, for the same boxes
        cfg.model.released_union = True
    model = MODELS.build(cfg.model).train()
    target = model.localizer if method.startswith('crop') else model
    target.load_state_dict(state, strict=True)
    if method == 'crop_inception_v3':  # its head's dropout draws differ between the codes:
        model.eval(), released.eval()  # BN's (fresh) running statistics, no dropout
    data, images, labels = batch(size, n, 'cpu')
    with torch.no_grad():
        ours, _ = model.parse_losses(model(**model.data_preprocessor(data, True), mode='loss'))
        theirs = released_loss_fn(method, root)(released, images, labels)
    diff = abs(float(ours) - float(theirs))
    line = f'{method}: released {float(theirs):.6f}, wsol_mm {float(ours):.6f}'
    if diff > 1e-4 * max(1.0, abs(float(theirs))):
        sys.exit(f'# equal losses FAILED, {line}')
    return line


def family_specs(family: str, methods: Dict[str, str], args: argparse.Namespace) -> List[dict]:
    """The variants of one backbone family: wsol_mm's plain step, the released plain step
    (timm's for DeiT-S), and each method's step on both sides."""
    # wsol_mm's processes: their config's env_cfg.cpu_malloc, unless peaks are counted live
    common = dict(family=family, size=args.size, batch=args.batch, device='cpu', bf16=False,
                  config_malloc=not args.live_peaks)
    first = next(iter(methods))
    specs = [dict(common, name='plain', role='plain', config=METHODS[first][1])]
    specs += [dict(common, name='timm', role='ref', config=METHODS[first][1])] \
        if family == 'deit_s' else [dict(common, name='released plain', role='released plain',
                                         method=first, root=methods[first])]
    for method, root in methods.items():
        specs += [dict(common, name=method, role='method', config=METHODS[method][1]),
                  dict(common, name=f'released {method}', role='released', method=method,
                       root=root)]
    return specs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    for option in dict.fromkeys(info['option'] for info in RELEASED.values()):
        repo = next(i['repo'] for i in RELEASED.values() if i['option'] == option)
        parser.add_argument(f'--{option.replace("_", "-")}', dest=option, metavar='DIR',
                            help=f'checkout of https://github.com/{repo}')
    parser.add_argument('--crop-backbones', nargs='+', choices=BACKBONES, default=BACKBONES)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=3, help='timed steps per round')
    parser.add_argument('--rounds', type=int, default=1,
                        help='fresh processes per variant, one after the other')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--stat', choices=list(STAT), default='min')
    parser.add_argument('--no-loss-check', action='store_true',
                        help='time without the equal-losses check (a modified checkout)')
    add_start_method_argument(parser)
    add_draws_argument(parser)
    parser.add_argument('--live-peaks', action='store_true',
                        help='every process maps its large allocations one by one: peaks '
                        'of the live tensors (timings not representative)')
    args = parser.parse_args()
    set_start_method(args.start_method)
    roots = {m: osp.abspath(getattr(args, info['option'])) for m, info in RELEASED.items()
             if getattr(args, info['option'])
             and (not m.startswith('crop') or m[5:] in args.crop_backbones)}
    if not roots:
        parser.error('pass at least one checkout: --tscam, --scm, --lcamd or '
                     '--small-object-wsol DIR')
    for method, root in roots.items():
        check_checkout(method, root)
    torch.set_num_threads(args.threads)
    STAT_NAME[0] = args.stat
    if args.live_peaks:  # read by glibc when each variant's process starts
        os.environ['MALLOC_MMAP_THRESHOLD_'] = str(LIVE_PEAKS_THRESHOLD)
    print(f'# train step, batch {args.batch}, {args.size} px, {NUM_CLASSES} classes, '
          f'{args.warmup} warm-up + {args.steps} timed steps ({args.stat}), round-robin, one '
          f'process per variant, {draws_note(args)}, {args.rounds} round(s)' + (
              ', live peaks: every allocation above 128 KB mapped on its own (timings not '
              'representative)' if args.live_peaks else ''))
    print('# ' + machine_line('cpu', args.threads))
    for method, root in roots.items():
        print('# equal losses, ' + (f'{method}: not checked (--no-loss-check)' if
                                   args.no_loss_check else
                                   check_losses(method, root, args.size, args.batch)),
              flush=True)
    families: Dict[str, Dict[str, str]] = {}
    for method, root in roots.items():
        families.setdefault(METHODS[method][0], {})[method] = root
    rows = []
    for family, methods in families.items():  # one family at a time: fewer heaps at once
        variants = {s['name']: VariantProcess(build, s, args.threads)
                    for s in family_specs(family, methods, args)}
        for r in range(args.rounds):
            print(f'# timing {family}, round {r + 1}: {", ".join(variants)}', file=sys.stderr,
                  flush=True)
            run_family(list(variants.values()), args.warmup, args.steps, 'cpu',
                       round_seed(args, r))
        print_steps(list(variants.values()))
        for v in variants.values():  # optimizer groups, the config's glibc settings
            print(f'# {v.name}: {v.notes}')
        rows += family_rows(family, list(methods), variants, args.batch, args.steps)
    print_table(rows, args.rounds)


def _per_round(ours: Variant, theirs: Variant, steps: int) -> str:
    """The speed ratio of each round alone, lowest - highest."""
    ratios = round_ratios(theirs, ours, steps)
    return f'{min(ratios):.2f}-{max(ratios):.2f}' if len(ratios) > 1 else '-'


def _overhead_rounds(ours: Variant, plain: Variant, steps: int, target: float) -> str:
    """wsol_mm's overhead in each round alone, lowest - highest, and how many rounds fall
    below the issue's released overhead: one run's median hides how often a target that
    sits inside the spread between rounds is missed."""
    ratios = round_ratios(ours, plain, steps)
    if len(ratios) < 2:
        return '-'
    below = sum(r < target for r in ratios)
    return f'{min(ratios):.3f}-{max(ratios):.3f}, {below} of {len(ratios)} below {target:.2f}'


def _row(name: str, ours: Variant, theirs: Variant, n: int, steps: int, speed_target: float,
         overheads: List[str]) -> List[str]:
    return [name, f'{ips(ours, n):.2f}', f'{ips(theirs, n):.2f}',
            f'{step_time(theirs) / step_time(ours):.2f}', _per_round(ours, theirs, steps),
            paired_reading(theirs, ours, speed_target, digits=2)] + overheads + [
        f'{median(ours.faults) / 1e3:.0f} / {median(theirs.faults) / 1e3:.0f}',
        f'{mb(ours.peak_rss)} / {mb(theirs.peak_rss)}',
        f'{mb(ours.step_peak)} / {mb(theirs.step_peak)}']


def family_rows(family: str, methods: List[str], variants: Dict[str, Variant],
                n: int, steps: int) -> List[List[str]]:
    plain = variants['plain']
    released_plain = variants['timm' if family == 'deit_s' else 'released plain']
    rows = []
    for m in methods:
        ours, theirs = variants[m], variants[f'released {m}']
        rows.append(_row(m, ours, theirs, n, steps, SPEED_TARGET, [
            f'{step_time(ours) / step_time(plain):.3f}',
            _overhead_rounds(ours, plain, steps, METHODS[m][2]),
            paired_reading(ours, plain, METHODS[m][2]),
            f'{step_time(theirs) / step_time(released_plain):.3f}', f'{METHODS[m][2]:.2f}']))
    rows.append(_row(f'plain {PLAIN_NAMES[family]}', plain, released_plain, n, steps, 1.0,
                     ['-'] * 5))
    return rows


def round_range_confidence(rounds: int) -> float:
    """Probability that the lowest-highest of ``rounds`` independent per-round ratios
    holds their distribution's median: all of them fall on one side of it with
    probability ``2 * 0.5 ** rounds`` (the sign test's interval, no assumption on the
    distribution's shape)."""
    return 1.0 - 2.0 * 0.5 ** rounds  # 0 for one round


def print_table(rows: List[List[str]], rounds: int) -> None:
    header = ['step', 'wsol_mm img/s', 'released img/s', 'wsol_mm / released speed',
              'same, each round alone (lowest-highest)',
              "same, paired steps (95 % interval; against the issue's 1.1x, plain: 1.0x)",
              'overhead (wsol_mm)',
              "overhead, each round alone (lowest-highest; rounds below the issue's)",
              "overhead, paired steps (95 % interval; against the issue's)",
              'released overhead here', "released overhead (issue's)",
              'page faults per step, thousands (wsol_mm / released)',
              'peak RSS MB (wsol_mm / released)',
              'peak above the built process MB (wsol_mm / released)']
    print()
    markdown_table(header, rows)
    print('\n# overheads: step time / the plain step of the same code (wsol_mm: its plain '
          "classifier; released: timm's DeiT-S, small_object_wsol's CAM step)")
    print(PAIRED_NOTE)
    print('# peak above the built process: peak RSS less the process size once its model, '
          'optimizer and batch were built (imports included there), largest over the rounds')
    if rounds > 1:
        print(f'# each round alone: the lowest-highest of {rounds} rounds holds the median '
              f'round ratio with probability {100 * round_range_confidence(rounds):.1f} % '
              '(sign test; if the rounds are independent draws of one distribution)')
    print('# ' + machine_line('cpu', torch.get_num_threads()).split(', ')[-1])


if __name__ == '__main__':
    main()
