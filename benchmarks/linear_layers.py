"""DeiT's linear layers through oneDNN against ``F.linear`` (MKL), per product and per step.

In one process, on the CPU:

* each product of a DeiT-S block's four linear layers (``qkv``, ``proj``, ``fc1``,
  ``fc2``; batch x 197 tokens): the forward, the input gradient ``G W`` and the weight
  gradient ``G^T x``, as autograd's ``F.linear`` computes them and as oneDNN dense
  layers, the two sides alternating, fastest of ``--reps``, and which of the two
  ``onednn_linear`` takes on this CPU (MKL for the weight gradients of the layers that do
  not narrow where ``MKL_WEIGHT_GRAD`` holds, an AMD Zen 4 or older); the script fails if
  a oneDNN result is further than float32 noise from ``F.linear``'s;
* whole training steps, round-robin as in ``train_step.py``: wsol_mm's plain DeiT-S
  classifier and each ``--methods`` config with ``onednn_linear`` off and on (the same
  initial weights), and timm's own step, with the estimated ratio to the released
  code's images/s of ``train_step.py`` for both sides; where ``MKL_WEIGHT_GRAD`` holds,
  also ``onednn_linear`` with every product through oneDNN, and the speed-up of this
  CPU's choice over it.

Usage:
    python benchmarks/linear_layers.py [--methods tscam scm lcamd] [--steps 4]
        [--reps 20] [--batch 8] [--threads 2]
"""
import argparse
import logging
import time
from contextlib import contextmanager
from statistics import median
from typing import Callable, Dict, Iterator, List

import torch
import torch.nn.functional as F
from mmengine.logging import MMLogger
from step_report import machine_line
from train_step import (
    METHODS,
    NUM_CLASSES,
    batch,
    load_cfg,
    plain_model_cfg,
    reference_variant,
    wsol_variant,
)
from variants import Variant, run_family

from wsol_mm.models.utils import onednn_linear_function
from wsol_mm.models.utils.onednn_linear_function import (
    _LINEAR,
    MKL_WEIGHT_GRAD,
    _dense,
    _weight_grad,
    weight_grad_through_mkl,
)
from wsol_mm.utils import register_all_modules
from wsol_mm.utils.cpu_info import cpu_vendor

LAYERS = {'qkv': (384, 1152), 'proj': (384, 384), 'fc1': (384, 1536), 'fc2': (1536, 384)}


def fastest(fns: Dict[str, Callable], reps: int) -> Dict[str, float]:
    """Fastest ms of each function, called in turn ``reps`` times after a warm-up."""
    best = {name: float('inf') for name in fns}
    for name, fn in fns.items():
        fn()
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: 1e3 * t for name, t in best.items()}


def product_rows(tokens: int, reps: int) -> List[list]:
    """Per layer and product: F.linear's ms, oneDNN's ms, the speed-up, and which of the
    two ``onednn_linear`` takes on this CPU (the weight gradients of the layers that do
    not narrow go through MKL where ``MKL_WEIGHT_GRAD`` holds)."""
    g = torch.Generator().manual_seed(0)
    rows, total = [], [0.0, 0.0, 0.0]
    for layer, (k, n) in LAYERS.items():
        x = torch.randn(tokens, k, generator=g)
        w = torch.randn(n, k, generator=g) / k**0.5
        b = torch.randn(n, generator=g)
        grad = torch.randn(tokens, n, generator=g)
        pairs = {
            'forward': (lambda: F.linear(x, w, b), lambda: _dense(x, w, b)),
            'input grad': (lambda: grad.mm(w), lambda: _dense(grad, w.t(), None)),
            'weight grad': (lambda: grad.t().mm(x), lambda: _weight_grad(grad, x)),
        }
        for part, (mkl, onednn) in pairs.items():
            ref, got = mkl(), onednn()
            err = ((got - ref).abs().max() / ref.abs().max()).item()
            if err > 1e-5:
                raise SystemExit(f'{layer} {part}: oneDNN differs from F.linear by {err:.1e} '
                                 '(relative), more than float32 noise')
            ms = fastest({'mkl': mkl, 'onednn': onednn}, reps)
            mkl_side = part == 'weight grad' and weight_grad_through_mkl(k, n)
            taken = 'mkl' if mkl_side else 'onednn'
            total[0] += ms['mkl']
            total[1] += ms['onednn']
            total[2] += ms[taken]
            rows.append([f'{layer} {k}->{n}', part, f'{ms["mkl"]:.2f}', f'{ms["onednn"]:.2f}',
                         f'{ms["mkl"] / ms["onednn"]:.2f}x',
                         'MKL' if taken == 'mkl' else 'oneDNN'])
    rows.append(['one block', 'all', f'{total[0]:.2f}', f'{total[1]:.2f}',
                 f'{total[0] / total[1]:.2f}x', f'{total[2]:.2f} ms, {total[0] / total[2]:.2f}x'])
    return rows


def step_rows(methods: List[str], size: int, n: int, warmup: int, steps: int) -> List[list]:
    """Per model: img/s with F.linear and with oneDNN (fastest and median step)."""
    data, normed, labels = batch(size, n, 'cpu')
    cfgs = {m: load_cfg(METHODS[m][1], size) for m in methods}
    first = cfgs[methods[0]] if methods else load_cfg(METHODS['tscam'][1], size)
    models = {'plain': (plain_model_cfg('deit_s', first), first.optim_wrapper)}
    models.update({m: (dict(cfgs[m].model), cfgs[m].optim_wrapper) for m in methods})
    variants = {}
    sides = (False, True, 'all') if MKL_WEIGHT_GRAD else (False, True)
    for name, (model_cfg, optim_cfg) in models.items():
        for on in sides:
            cfg = dict(model_cfg, backbone=dict(model_cfg['backbone'], onednn_linear=bool(on)))
            torch.manual_seed(0)  # the same initial weights on every side
            variants[name, on] = wsol_variant(name, cfg, optim_cfg, data, 'cpu')
            if on == 'all':
                every_product_through_onednn(variants[name, on])
    ref = reference_variant('timm', 'deit_s', size, normed, labels, 'cpu')
    run_family(list(variants.values()) + [ref], warmup, steps, 'cpu')
    rows = []
    for name in models:
        off, on = variants[name, False].times, variants[name, True].times
        # released plain = timm's step; a method's released step = that x its overhead
        released = 1.0 if name == 'plain' else METHODS[name][2]
        every = variants[name, 'all'].times if MKL_WEIGHT_GRAD else None
        rows.append([name, f'{n / min(off):.2f}', f'{n / min(on):.2f}',
                     f'{min(off) / min(on):.2f}x', f'{median(off) / median(on):.2f}x',
                     f'{min(ref.times) * released / min(off):.2f}',
                     f'{min(ref.times) * released / min(on):.2f}',
                     f'{median(every) / median(on):.2f}x' if every else '-'])
    rows.append(['timm (reference)', f'{n / min(ref.times):.2f}'] + ['-'] * 6)
    return rows


@contextmanager
def weight_grads_through_onednn() -> Iterator[None]:
    """Inside: every weight gradient through oneDNN (linear layers and Winograd's
    channel products), as on CPUs where ``MKL_WEIGHT_GRAD`` does not hold."""
    onednn_linear_function.MKL_WEIGHT_GRAD = False
    try:
        yield
    finally:
        onednn_linear_function.MKL_WEIGHT_GRAD = MKL_WEIGHT_GRAD


def every_product_through_onednn(variant: Variant) -> None:
    """Make ``variant``'s step run the weight gradients through oneDNN too (the module
    flag is cleared around each step: :func:`weight_grads_through_onednn`)."""
    step = variant.step

    def onednn_step():
        with weight_grads_through_onednn():
            return step()

    variant.step = onednn_step


def table(header: List[str], rows: List[list]) -> None:
    print('| ' + ' | '.join(header) + ' |')
    print('|' + ' --- |' * len(header))
    for row in rows:
        print('| ' + ' | '.join(row) + ' |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--methods', nargs='*', default=['tscam', 'scm', 'lcamd'],
                        choices=[m for m, spec in METHODS.items() if spec[0] == 'deit_s'])
    parser.add_argument('--steps', type=int, default=4, help='timed steps per variant')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--reps', type=int, default=20, help='timed calls per product')
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    if _LINEAR is None:
        raise SystemExit('this torch has no oneDNN linear (torch.ops.mkldnn._linear_pointwise):'
                         ' onednn_linear falls back to F.linear, nothing to compare')
    torch.set_num_threads(args.threads)
    register_all_modules()
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    print('# ' + machine_line('cpu', args.threads))
    vendor = cpu_vendor() or 'unknown vendor'
    print(f'# {vendor}: onednn_linear takes oneDNN by default: '
          f'{"yes" if onednn_linear_function.PREFERRED else "no (MKL)"}; both sides timed here;'
          f' MKL weight gradients (MKL_WEIGHT_GRAD): {"yes" if MKL_WEIGHT_GRAD else "no"}')
    onednn_linear_function.PREFERRED = True  # the oneDNN side runs oneDNN on any CPU
    tokens = args.batch * ((args.size // 16)**2 + 1)
    print(f'# DeiT-S linear products, {tokens} tokens (batch {args.batch}), fastest of '
          f'{args.reps}, ms')
    table(['layer', 'product', 'F.linear (MKL)', 'oneDNN', 'speed-up', 'onednn_linear takes'],
          product_rows(tokens, args.reps))
    print(f'\n# training steps, batch {args.batch}, {args.size} px, {NUM_CLASSES} classes, '
          f'{args.warmup} warm-up + {args.steps} timed steps, round-robin')
    table(['model', 'img/s F.linear', 'img/s oneDNN', 'speed-up (fastest)',
           'speed-up (median)', 'x released img/s (est.), F.linear',
           'x released img/s (est.), oneDNN',
           'MKL weight grads: speed-up (median)'],
          step_rows(args.methods, args.size, args.batch, args.warmup, args.steps))
    print('# x released img/s (est.) = img/s x released overhead (issue 14; plain: 1) / '
          "timm's img/s, fastest steps, as in train_step.py")


if __name__ == '__main__':
    main()
