"""The class-query attention row from the normed tokens (folded) against the row from the keys.

SCM and LCA-MD train through the head-mean cls-attention row of every DeiT block. Since
2026-12-06 the training step on the CPU computes it with :class:`FoldedClsRowFunction`
(the class query times ``W_k``, then the normed tokens: no keys), so a block whose
stochastic depth drops samples runs its whole attention branch, keys included, on the
kept samples only. Before, the row came from the keys, and the keys of every sample were
computed for it. In one process, alternating, this script times:

* **Part 1**, one DeiT-S block's row alone (batch ``--batch``, 197 tokens), forward and
  backward: from the keys (given the qkv output, as the block computes it anyway when
  nothing is dropped: ``q_0 K^T``, softmax, head mean; its gradient reaches ``W_qkv``
  through the block's own qkv backward) and folded (given the normed tokens, gradients
  of the tokens and of ``W_qkv``); median of ``--reps``, the speed-up, and the largest
  difference of the rows;
* **Part 2**, whole training steps (``benchmarks/train_step.py``'s setup: batch 8, 224 px,
  200 classes) of each of ``--methods``, with ``cls_attention.FOLD_ROWS`` off (rows from
  the keys) and on, step by step with the same random seed (the same stochastic-depth
  draws on both sides): the median step of each and the median of the paired ratios.

Both parts run under the DeiT configs' glibc settings (``env_cfg.cpu_malloc``), as a
training run does.

Usage:
    python benchmarks/cls_attention_row.py [--batch 8] [--reps 30] [--steps 8]
        [--methods lcamd scm] [--threads 2]
"""
import argparse
import logging
import time
from statistics import median
from typing import Callable, List

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from step_report import machine_line
from train_step import METHODS, batch, load_cfg, wsol_variant  # benchmarks/

import wsol_mm  # noqa: F401  (compat shim)
from wsol_mm.models.utils import FoldedClsRowFunction, cls_attention
from wsol_mm.utils import register_all_modules
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc

TOKENS, DIM, HEADS = 197, 384, 6  # DeiT-S


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def row_table(args: argparse.Namespace) -> None:
    torch.manual_seed(0)
    scale = (DIM // HEADS)**-0.5
    qkv_layer = torch.nn.Linear(DIM, 3 * DIM)
    normed = torch.randn(args.batch, TOKENS, DIM, requires_grad=True)
    qkv = F.linear(normed, qkv_layer.weight, qkv_layer.bias).detach().requires_grad_()
    grad = torch.randn(args.batch, TOKENS)
    rows = {}

    def from_keys() -> None:
        q, k, _ = qkv.view(args.batch, TOKENS, 3, HEADS, -1).permute(2, 0, 3, 1, 4).unbind(0)
        rows['keys'] = ((q[:, :, :1] * scale) @ k.transpose(-2, -1)).softmax(-1)[:, :, 0].mean(1)
        torch.autograd.grad((rows['keys'] * grad).sum(), qkv)  # reaches W with the block's

    def folded() -> None:
        rows['folded'] = FoldedClsRowFunction.apply(normed, qkv_layer.weight, qkv_layer.bias, scale,
                                                    HEADS)
        torch.autograd.grad((rows['folded'] * grad).sum(), [normed, qkv_layer.weight])

    times: List[List[float]] = [[], []]
    for rep in range(args.reps + 2):
        for side, fn in enumerate((from_keys, folded)):
            t = timed(fn)
            if rep >= 2:
                times[side].append(t)
    keys_ms, folded_ms = (median(t) * 1e3 for t in times)
    diff = (rows['keys'] - rows['folded']).abs().max().item()
    print(f'\nPart 1: one DeiT-S block\'s cls-attention row, batch {args.batch}, {TOKENS} tokens, '
          f'forward + backward, median of {args.reps}')
    print('| from the keys ms | folded ms | speed-up | largest row difference |')
    print('| --- | --- | --- | --- |')
    print(f'| {keys_ms:.3f} | {folded_ms:.3f} | {keys_ms / folded_ms:.2f}x | {diff:.1e} |')


def step_table(args: argparse.Namespace) -> None:
    register_all_modules()
    MMLogger.get_current_instance().setLevel(logging.WARNING)  # no per-parameter lines
    data = batch(224, 8, 'cpu')[0]
    print(f'\nPart 2: training steps (batch 8, 224 px), FOLD_ROWS off and on alternately, '
          f'same seed per pair, {args.steps} timed pairs after one')
    print('| method | rows from the keys s | folded s | speed-up (median of pairs) |')
    print('| --- | --- | --- | --- |')
    for name in args.methods:
        cfg = load_cfg(METHODS[name][1], 224)
        variant = wsol_variant('method', dict(cfg.model), cfg.optim_wrapper, data, 'cpu')
        times: List[List[float]] = [[], []]
        for i in range(args.steps + 1):
            for side, fold in enumerate((False, True)):
                cls_attention.FOLD_ROWS = fold
                torch.manual_seed(i)
                t = timed(variant.step)
                if i:
                    times[side].append(t)
        cls_attention.FOLD_ROWS = True
        ratios = [a / b for a, b in zip(*times)]
        print(f'| {name} | {median(times[0]):.3f} | {median(times[1]):.3f} | '
              f'{median(ratios):.3f}x |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--reps', type=int, default=30)
    parser.add_argument('--steps', type=int, default=8, help='timed step pairs; 0: part 1 only')
    parser.add_argument('--methods', nargs='+', default=['lcamd', 'scm'],
                        choices=['lcamd', 'scm'])
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    # the DeiT configs' glibc settings (env_cfg.cpu_malloc), as the runner applies them
    malloc = apply_cpu_malloc(load_cfg(METHODS['lcamd'][1], 224).env_cfg.get('cpu_malloc'),
                              on_cpu=True)
    print(f'# {machine_line("cpu", args.threads)}; {malloc or "glibc defaults"}')
    row_table(args)
    if args.steps:
        step_table(args)


if __name__ == '__main__':
    main()
