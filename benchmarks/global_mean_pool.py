"""The CAM head's global average pooling: ``x.mean(dim=(2, 3))`` against
``global_mean_pool`` (a broadcast gradient), at the start of a CNN's backward pass.

1. In one process, alternating, fastest and median of ``--reps``: the ReLU and the
   pooling on the channels-last last maps of ResNet50 and VGG16 (2048 and 1024 channels,
   28 x 28 at 224 px, as the CAM configs build them), forward and backward (the
   backward's two operations are the first of a CAM CNN's backward pass), with the bytes
   of the tensors they allocate. The input gradients must be the same bits, or the
   script fails.
2. ``--step-rounds R`` (default 1; 0 skips it): the peak resident memory of a CAM
   ResNet50 training step (``configs/cam/resnet50_cub.py``, batch ``--batch``, ``--size``
   px, two steps) in fresh processes, one per side and round, with every allocation above
   128 KB mapped and unmapped on its own (``MALLOC_MMAP_THRESHOLD_``), so that the peak
   counts the live tensors and not the heap's history; the ``x.mean`` side replaces the
   head's pooling on its instance.

Usage:
    python benchmarks/global_mean_pool.py [--reps 20] [--batch 8] [--size 224] [--threads 2]
        [--step-rounds 1]
"""
import argparse
import json
import os
import subprocess
import sys
import types

import torch
from alternating import alternate  # benchmarks/ (on sys.path)
from torch.utils._python_dispatch import TorchDispatchMode
from variants import LIVE_PEAKS_THRESHOLD, peak_resident_bytes

from wsol_mm.models.utils.global_mean_pool_function import global_mean_pool

MAPS = {'ResNet50': 2048, 'VGG16': 1024}
CONFIG = 'configs/cam/resnet50_cub.py'


class NewBytes(TorchDispatchMode):
    """Bytes of the distinct storages that the operations run under it create."""

    def __init__(self) -> None:
        super().__init__()
        self.storages = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        seen = {a.untyped_storage().data_ptr() for a in args if isinstance(a, torch.Tensor)}
        for t in out if isinstance(out, (tuple, list)) else (out, ):
            if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in seen:
                self.storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return out


def backward_of(pool, z: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``d/dz`` of ``pool(relu(z))`` for the output gradient ``grad``."""
    return torch.autograd.grad(pool(torch.relu(z)), z, grad)[0]


def layer_rows(batch: int, size: int, reps: int) -> None:
    print('| last map | x.mean fastest / median ms | global_mean_pool fastest / median ms | '
          'speed-up fastest / median | MB allocated (x.mean / global_mean_pool) |')
    print('| --- | --- | --- | --- | --- |')
    gen = torch.Generator().manual_seed(0)
    for name, channels in MAPS.items():
        shape = (batch, channels, size // 8, size // 8)
        z = torch.randn(shape, generator=gen).contiguous(memory_format=torch.channels_last)
        z.requires_grad_(True)
        grad = torch.randn(shape[:2], generator=gen)
        sides = {'mean': lambda: backward_of(lambda x: x.mean(dim=(2, 3)), z, grad),
                 'global': lambda: backward_of(global_mean_pool, z, grad)}
        if not torch.equal(sides['mean'](), sides['global']()):
            raise SystemExit(f'{name}: the input gradients differ')
        allocated = {}
        for side, fn in sides.items():
            with NewBytes() as mode:
                fn()
            allocated[side] = sum(mode.storages.values()) / 2**20
        times = alternate(sides, reps)
        fast = {k: min(v) * 1e3 for k, v in times.items()}
        med = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
        print(f'| {name} {tuple(shape)} | {fast["mean"]:.2f} / {med["mean"]:.2f} | '
              f'{fast["global"]:.2f} / {med["global"]:.2f} | {fast["mean"] / fast["global"]:.2f}x'
              f' / {med["mean"] / med["global"]:.2f}x | {allocated["mean"]:.0f} / '
              f'{allocated["global"]:.0f} |')


def child(side: str, batch: int, size: int) -> None:
    """Two training steps of CAM ResNet50; prints this process's peak RSS in MB."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from mmengine.optim import build_optim_wrapper
    from train_step import batch as make_batch
    from train_step import load_cfg

    from wsol_mm.registry import MODELS
    from wsol_mm.utils import register_all_modules
    register_all_modules()
    cfg = load_cfg(CONFIG, size)
    model = MODELS.build(cfg.model).train()
    if side == 'mean':  # the previous pooling, on this instance only
        model.head.forward = types.MethodType(
            lambda head, feats: head.fc(feats[-1].mean(dim=(2, 3))), model.head)
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    data = make_batch(size, batch, 'cpu')[0]
    for _ in range(2):
        model.train_step(data, wrapper)
    print(json.dumps(peak_resident_bytes() // 2**20))


def step_rows(batch: int, size: int, rounds: int, threads: int) -> None:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(LIVE_PEAKS_THRESHOLD),
               OMP_NUM_THREADS=str(threads))
    peaks = {'mean': [], 'global': []}
    for _ in range(rounds):
        for side in peaks:
            out = subprocess.run([sys.executable, __file__, '--child', side, '--batch',
                                  str(batch), '--size', str(size)], env=env,
                                 capture_output=True, text=True)
            if out.returncode:
                raise SystemExit(out.stderr[-3000:])
            peaks[side].append(int(out.stdout.strip().splitlines()[-1]))
    print(f'\n# peak RSS of CAM ResNet50 training processes (2 steps, batch {batch}, {size} px, '
          'allocations above 128 KB mapped on their own), MB per round')
    print(f'x.mean: {peaks["mean"]}; global_mean_pool: {peaks["global"]}; difference of the '
          f'lowest: {min(peaks["mean"]) - min(peaks["global"])} MB')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=20)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--step-rounds', type=int, default=1)
    parser.add_argument('--child', choices=['mean', 'global'], help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        return child(args.child, args.batch, args.size)
    print(f'# GAP(ReLU(z)) forward and backward, channels-last z, batch {args.batch}, '
          f'{args.threads} threads, {args.reps} alternating rounds')
    layer_rows(args.batch, args.size, args.reps)
    if args.step_rounds:
        step_rows(args.batch, args.size, args.step_rounds, args.threads)


if __name__ == '__main__':
    main()
