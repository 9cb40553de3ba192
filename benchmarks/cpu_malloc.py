"""Training-step speed and peak memory on CPU with and without ``env_cfg.cpu_malloc``.

glibc's malloc settings are process-wide, so each variant runs in its own process, once
with glibc's defaults and once with the shipped ``env_cfg.cpu_malloc`` settings (read from
``configs/_base_/default_runtime.py``, enabled: they are off as shipped, and applied by
the same function the runner uses), alternating the order every round so that load changes
hit both sides alike. A variant is one step of ``benchmarks/train_step.py``: a method (its
shipped config), wsol_mm's plain classifier (``deit_s``, ``resnet50``), or the reference
library's plain step (``timm``, ``torchvision``), batch 8 by default. Printed per variant:
the fastest step of each side as images/s (``--stat median`` for the median), the
speed-up, and the process's peak resident memory (``ru_maxrss``) on each side. For the
DeiT methods, when ``timm`` runs too: the estimated ratio to the released code's images/s,
``img/s with cpu_malloc x released overhead / timm img/s with glibc's defaults`` (the
released overheads of issue 14, as in ``train_step.py``); the released code runs with
glibc's defaults.

Usage:
    python benchmarks/cpu_malloc.py [--variants tscam deit_s timm ...] [--rounds 2]
        [--steps 3] [--warmup 1] [--batch 8] [--threads 2] [--stat min]
"""
import argparse
import json
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from statistics import median

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.join(HERE, '..')
PLAIN = dict(deit_s='configs/tscam/deit_s_cub.py', resnet50='configs/cam/resnet50_cub.py')
REFERENCE = dict(timm='deit_s', torchvision='resnet50')
SIDES = ('default', 'cpu_malloc')


def worker(args: argparse.Namespace) -> None:
    """Build one variant in this process, apply the side's settings, time its steps."""
    import torch
    from mmengine.config import Config
    from train_step import (
        METHODS,
        batch,
        load_cfg,
        plain_model_cfg,
        reference_variant,
        wsol_variant,
    )

    from wsol_mm.utils import register_all_modules
    from wsol_mm.utils.cpu_malloc import apply_cpu_malloc

    torch.set_num_threads(args.threads)
    register_all_modules()
    note = ''
    if args.side == 'cpu_malloc':
        runtime = Config.fromfile(osp.join(ROOT, 'configs/_base_/default_runtime.py'))
        note = apply_cpu_malloc(dict(runtime.env_cfg.cpu_malloc, enable=True), on_cpu=True)
    data, inputs, labels = batch(224, args.batch, 'cpu')
    name = args.worker
    if name in REFERENCE:
        variant = reference_variant(name, REFERENCE[name], 224, inputs, labels, 'cpu')
    else:
        cfg = load_cfg(METHODS[name][1] if name in METHODS else PLAIN[name], 224)
        model_cfg = cfg.model if name in METHODS else plain_model_cfg(name, cfg)
        variant = wsol_variant(name, model_cfg, cfg.optim_wrapper, data, 'cpu')
    for _ in range(args.warmup):
        variant.step()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        variant.step()
        times.append(time.perf_counter() - start)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps(dict(times=times, rss_mb=rss_mb, note=note)))


def run_side(name: str, side: str, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items()  # glibc's defaults on the 'default' side
           if not k.startswith('MALLOC_') and k not in ('GLIBC_TUNABLES', 'LD_PRELOAD')}
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
    parser.add_argument('--variants', nargs='+', choices=list(METHODS) + choices,
                        default=['tscam', 'deit_s', 'timm', 'resnet50', 'torchvision'])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--stat', choices=('min', 'median'), default='min')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    parser.add_argument('--side', choices=SIDES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = {(v, s): dict(times=[], rss_mb=[], note='') for v in args.variants for s in SIDES}
    for r in range(args.rounds):
        for name in args.variants:
            for side in SIDES if r % 2 == 0 else SIDES[::-1]:
                out = run_side(name, side, args)
                res = results[name, side]
                res['times'] += out['times']
                res['rss_mb'].append(out['rss_mb'])
                res['note'] = out['note'] or res['note']
    stat = min if args.stat == 'min' else median
    print(f'# batch {args.batch}, 224 px, {args.threads} threads, {args.warmup} warm-up + '
          f'{args.steps} timed steps per process, {args.rounds} rounds, {args.stat} step')
    print(f'# cpu_malloc: {results[args.variants[0], "cpu_malloc"]["note"]}')
    print('| variant | default img/s | cpu_malloc img/s | speed-up | peak RSS MB (default / '
          'cpu_malloc) | x released img/s (est.) |')
    print('| --- | --- | --- | --- | --- | --- |')
    ips = {k: args.batch / stat(v['times']) for k, v in results.items()}
    for name in args.variants:
        a, b = ips[name, 'default'], ips[name, 'cpu_malloc']
        est = '-'
        if name in METHODS and METHODS[name][0] == 'deit_s' and 'timm' in args.variants:
            est = f'{b * METHODS[name][2] / ips["timm", "default"]:.2f}'
        rss = '{:.0f} / {:.0f}'.format(*(max(results[name, s]['rss_mb']) for s in SIDES))
        print(f'| {name} | {a:.2f} | {b:.2f} | {b / a:.2f} | {rss} | {est} |')


if __name__ == '__main__':
    main()
