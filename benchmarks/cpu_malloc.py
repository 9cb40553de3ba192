"""Training-step speed and peak memory on CPU with glibc's defaults, ``env_cfg.cpu_malloc``
and tcmalloc.

An allocator's settings are process-wide, so each variant runs in its own process once per
side, the order of the sides reversed every round so that load changes hit all alike:
``default`` (glibc's defaults), ``cpu_malloc`` (the shipped ``env_cfg.cpu_malloc`` settings
of ``configs/_base_/default_runtime.py``, enabled: they are off as shipped, and applied by
the same function the runner uses) and ``tcmalloc`` (gperftools' tcmalloc preloaded, as
``tools/train.py --malloc`` does; skipped with a note when it is not installed). A variant
is one step of ``benchmarks/train_step.py``: a method (its shipped config), wsol_mm's plain
classifier (``deit_s``, ``resnet50``, ``vgg16``, ``inception_v3``; the CNNs' as crop
consistency wraps it), the same CNN in the released code's contiguous memory order with
direct convolutions (``resnet50_contiguous`` ...), or the reference library's plain step
(``timm``, ``torchvision``), batch 8 by default. Printed per variant and side: the fastest
step as images/s (``--stat median`` for the median), the speed-up over glibc's defaults,
and the process's peak resident memory (``VmHWM``). For a method with a released
overhead ratio (issue 14) whose released plain step ran too (``timm`` for the DeiT
methods, ``<family>_contiguous`` for the CNNs): the estimated ratio to the released code's
images/s, ``img/s x released overhead / released plain img/s with glibc's defaults`` (the
released code runs with glibc's defaults), as in ``train_step.py``.

Usage:
    python benchmarks/cpu_malloc.py [--variants tscam deit_s timm ...] [--rounds 2]
        [--steps 3] [--warmup 1] [--batch 8] [--threads 2] [--stat min]
        [--sides default cpu_malloc tcmalloc]
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from statistics import median
from typing import Optional

from wsol_mm.malloc_preload import INSTALL_HINT, find_tcmalloc, preload_environ

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.join(HERE, '..')
PLAIN = dict(deit_s='configs/tscam/deit_s_cub.py', resnet50='configs/crop/resnet50_cub.py',
             vgg16='configs/crop/vgg16_cub.py', inception_v3='configs/crop/inception_v3_cub.py')
CONTIGUOUS = {f'{family}_contiguous': family for family in PLAIN if family != 'deit_s'}
REFERENCE = dict(timm='deit_s', torchvision='resnet50')
SIDES = ('default', 'cpu_malloc', 'tcmalloc')


def worker(args: argparse.Namespace) -> None:
    """Build one variant in this process, apply the side's settings, time its steps."""
    import torch
    from mmengine.config import Config
    from train_step import METHODS, build_variant
    from variants import peak_resident_bytes

    from wsol_mm.malloc_preload import loaded_allocator
    from wsol_mm.utils.cpu_malloc import apply_cpu_malloc

    torch.set_num_threads(args.threads)
    note = ''
    if args.side == 'cpu_malloc':
        runtime = Config.fromfile(osp.join(ROOT, 'configs/_base_/default_runtime.py'))
        note = apply_cpu_malloc(dict(runtime.env_cfg.cpu_malloc, enable=True), on_cpu=True)
    elif args.side == 'tcmalloc':
        if loaded_allocator() != 'tcmalloc':
            sys.exit(f'tcmalloc was preloaded ({os.environ.get("LD_PRELOAD")}) but not loaded')
        note = f'tcmalloc: {os.environ["LD_PRELOAD"]}'
    name = args.worker
    if name in REFERENCE:
        role, family, config = 'ref', REFERENCE[name], PLAIN[REFERENCE[name]]
    elif name in METHODS:
        role, family, config = 'method', METHODS[name][0], METHODS[name][1]
    else:
        family = CONTIGUOUS.get(name, name)
        role, config = ('contiguous' if name in CONTIGUOUS else 'plain'), PLAIN[family]
    variant = build_variant(dict(name=name, role=role, family=family, config=config,
                                 size=224, batch=args.batch, device='cpu', bf16=False))
    for _ in range(args.warmup):
        variant.step()
    for _ in range(args.steps):
        variant.timed('cpu')
    rss_mb = peak_resident_bytes() / 2**20
    print(json.dumps(dict(times=variant.times, rss_mb=rss_mb, note=note)))


def run_side(name: str, side: str, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items()  # glibc's defaults on the 'default' side
           if not k.startswith('MALLOC_') and k not in ('GLIBC_TUNABLES', 'LD_PRELOAD')}
    if side == 'tcmalloc':
        env = preload_environ(args.tcmalloc, env)
    env.update(OMP_NUM_THREADS=str(args.threads), PYTHONPATH=os.pathsep.join(
        [HERE, ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    cmd = [sys.executable, __file__, '--worker', name, '--side', side, '--steps',
           str(args.steps), '--warmup', str(args.warmup), '--batch', str(args.batch),
           '--threads', str(args.threads)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode:
        sys.exit(f'{name} ({side}) failed:\n{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    choices = list(PLAIN) + list(REFERENCE)
    from train_step import METHODS
    parser.add_argument('--variants', nargs='+',
                        choices=list(METHODS) + choices + list(CONTIGUOUS),
                        default=['tscam', 'deit_s', 'timm', 'resnet50', 'torchvision'])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--stat', choices=('min', 'median'), default='min')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--sides', nargs='+', choices=SIDES, default=list(SIDES),
                        help='allocator settings to compare (default: all; the first two '
                        'when tcmalloc is not installed)')
    parser.add_argument('--side', choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    args.tcmalloc = find_tcmalloc()
    sides = ['default'] + [s for s in args.sides if s != 'default']
    if 'tcmalloc' in sides and args.tcmalloc is None:
        print(f'# tcmalloc not installed ({INSTALL_HINT}): side skipped')
        sides.remove('tcmalloc')
    results = {(v, s): dict(times=[], rss_mb=[], note='') for v in args.variants for s in sides}
    for r in range(args.rounds):
        for name in args.variants:
            for side in sides if r % 2 == 0 else sides[::-1]:
                out = run_side(name, side, args)
                res = results[name, side]
                res['times'] += out['times']
                res['rss_mb'].append(out['rss_mb'])
                res['note'] = out['note'] or res['note']
    stat = min if args.stat == 'min' else median
    print(f'# batch {args.batch}, 224 px, {args.threads} threads, {args.warmup} warm-up + '
          f'{args.steps} timed steps per process, {args.rounds} rounds, {args.stat} step')
    for side in sides[1:]:
        print(f'# {side}: {results[args.variants[0], side]["note"]}')
    ips = {k: args.batch / stat(v['times']) for k, v in results.items()}
    header = ['variant', 'default img/s']
    for side in sides[1:]:
        header += [f'{side} img/s', f'{side} speed-up']
    header += [f'peak RSS MB ({" / ".join(sides)})', 'x released img/s (est.; '
               + ' / '.join(sides) + ')']
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '|'.join(' --- ' for _ in header) + '|')
    for name in args.variants:
        base = ips[name, 'default']
        row = [name, f'{base:.2f}']
        for side in sides[1:]:
            row += [f'{ips[name, side]:.2f}', f'{ips[name, side] / base:.2f}']
        row.append(' / '.join(f'{max(results[name, s]["rss_mb"]):.0f}' for s in sides))
        released_plain = _released_plain(name, args.variants)
        row.append('-' if released_plain is None else ' / '.join(
            f'{ips[name, s] * METHODS[name][2] / ips[released_plain, "default"]:.2f}'
            for s in sides))
        print('| ' + ' | '.join(row) + ' |')


def _released_plain(name: str, variants: list) -> Optional[str]:
    """The variant standing in for the released code's plain step of a method (run with
    glibc's defaults), when it ran: timm for the DeiT methods, the contiguous CNN step."""
    from train_step import METHODS
    if name not in METHODS or METHODS[name][2] is None:
        return None
    family = METHODS[name][0]
    plain = 'timm' if family == 'deit_s' else f'{family}_contiguous'
    return plain if plain in variants else None

if __name__ == '__main__':
    main()
