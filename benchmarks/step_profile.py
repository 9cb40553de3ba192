"""Where a DeiT-S training step's time goes on a CPU, and how much faster it could get.

Every variant is built in this process (``train_step.py``'s builders: wsol_mm's plain
DeiT-S step and its TS-CAM step, timm's step; with ``--tscam PATH`` also the released
TS-CAM step from a checkout, as ``released_step.py`` runs it) and warmed up; then
``--steps`` rounds time one step of each variant in turn (outside the profiler; a slow
phase of the host hits every variant alike, so the step ratios compare steps of the
same rounds: the median and, per round, the lowest and highest ratio); then each variant
runs ``--steps`` more times under ``torch.profiler``. An operator's own time is counted
on the calling thread, where a CPU's autograd backward runs too; its intra-op threads
run inside it, so the shares below are shares of the step's wall time. All variants run
with the DeiT configs' glibc settings (``env_cfg.cpu_malloc``, applied to this process
first), so that no variant's memory-bound operators pay for page faults that another's
heap history avoids; ``released_step.py`` times each side with its own settings, in a
process of its own.

Per variant, the share of each class of operators: the linear layers' products
(``aten::mm`` / ``aten::addmm``, or oneDNN's ``mkldnn::_linear_pointwise`` where the blocks
take oneDNN: forward and both gradients), the attention (the fused
kernel, or the released code's ``bmm`` and softmax), convolutions, the optimizer, all
other operators, and the time outside any operator (Python, autograd's bookkeeping).
Then the products' GFLOP per step, their rate in the step, and their rate *alone*: every
product shape of the step timed by itself (fastest of ``--reps``, contiguous inputs) and
summed with its count. The floor is the step's products at that rate plus its attention
as measured in the step: a change anywhere else cannot take a step below it, so
``released step / wsol_mm's floor`` bounds the speed-up over the released step that work
outside the products and the attention could still buy.

Usage:
    python benchmarks/step_profile.py [--tscam TS-CAM] [--steps 3] [--reps 5]
        [--batch 8] [--size 224] [--threads 2]
"""
import math
import time
from collections import defaultdict
from statistics import median
from typing import Any, Callable, Dict, List, Tuple

import torch
from alternating import alternate, micro_parser
from released_code import check_checkout, released_variant
from step_report import machine_line, markdown_table
from torch.profiler import ProfilerActivity, profile
from train_step import METHODS, build_variant, load_cfg

from wsol_mm.models.utils.onednn_linear_function import _dense
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc

ONEDNN_LINEAR = 'mkldnn::_linear_pointwise'  # the blocks' path on AMD CPUs with AVX-512
PRODUCTS = ('aten::mm', 'aten::addmm', ONEDNN_LINEAR)
# the released code's attention: explicit products and softmax (in a DeiT step only there)
ATTENTION = ('aten::bmm', 'aten::_softmax', 'aten::_softmax_backward_data')
TOP = 6  # other operators listed per variant
CLASSES = ('products', 'attention', 'convolution', 'optimizer', 'other operators')


def op_class(name: str) -> str:
    """The class of operators a profiler event belongs to."""
    if name in PRODUCTS:
        return 'products'
    if 'scaled_dot_product' in name or name in ATTENTION:
        return 'attention'
    if 'convolution' in name:
        return 'convolution'
    return 'optimizer' if 'adam' in name.lower() else 'other operators'


def product_flops(name: str, shapes: List[list]) -> int:
    """Floating-point operations of one product call from its input shapes."""
    if name == ONEDNN_LINEAR:  # input (..., k), weight (n, k)
        *lead, k = shapes[0]
        m, n = math.prod(lead), shapes[1][0]
    else:
        (m, k), (_, n) = shapes[:2] if name == 'aten::mm' else shapes[1:3]
    return 2 * m * k * n


def product_call(name: str, shapes: List[list]) -> Callable[[], torch.Tensor]:
    """One product of these shapes on fresh contiguous inputs, as the step calls it."""
    if name == ONEDNN_LINEAR:  # (input, weight, bias or [], then the post-op's arguments)
        x, weight = torch.randn(shapes[0]), torch.randn(shapes[1])
        bias = torch.randn(shapes[2]) if shapes[2] else None
        return lambda: _dense(x, weight, bias)
    args = [torch.randn(s) for s in shapes if s]
    return (lambda: torch.mm(*args)) if name == 'aten::mm' else (lambda: torch.addmm(*args))


def time_alone(name: str, shapes: List[list], reps: int) -> float:
    """Seconds of one product of these shapes by itself, fastest of ``reps``."""
    call = product_call(name, shapes)
    call()
    best = float('inf')
    for _ in range(reps):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def profile_steps(step: Callable[[], object], steps: int, reps: int) -> Dict[str, Any]:
    """Per-step seconds of each class, the products' FLOPs and their time alone, from
    ``steps`` profiled runs of an already warmed-up ``step`` (the caller adds the median
    step time of its round-robin timing)."""
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        wall = time.perf_counter() - start
    out: Dict[str, Any] = defaultdict(float)
    alone: Dict[Tuple[str, str], float] = {}
    others: Dict[str, float] = defaultdict(float)
    for evt in prof.key_averages(group_by_input_shape=True):
        out[op_class(evt.key)] += evt.self_cpu_time_total * 1e-6 / steps
        if evt.key in PRODUCTS:
            shapes = evt.input_shapes
            out['flops'] += product_flops(evt.key, shapes) * evt.count / steps
            key = (evt.key, str(shapes))
            alone[key] = alone.get(key) or time_alone(evt.key, shapes, reps)
            out['alone'] += alone[key] * evt.count / steps
        if op_class(evt.key) == 'other operators':
            others[evt.key] += evt.self_cpu_time_total * 1e-6 / steps
    out['outside operators'] = wall / steps - sum(out[c] for c in CLASSES)
    out['largest others'] = sorted(others.items(), key=lambda kv: -kv[1])[:TOP]
    out['profiled'] = wall / steps
    return out


def floor(r: Dict[str, Any]) -> float:
    """Seconds of the step's products at their rate alone plus its attention."""
    return r['alone'] + r['attention']


def row(name: str, r: Dict[str, Any]) -> list:
    """One table row: step ms, each class's share, the products' GFLOP and rates."""
    shares = [f'{100 * r[c] / r["profiled"]:.1f} %' for c in CLASSES + ('outside operators',)]
    return [name, f'{1e3 * r["step"]:.0f}', *shares, f'{r["flops"] / 1e9:.1f}',
            f'{r["flops"] / r["products"] / 1e9:.0f}', f'{r["flops"] / r["alone"] / 1e9:.0f}',
            f'{1e3 * floor(r):.0f}']


def main() -> None:
    parser = micro_parser(__doc__, reps=5)  # --reps: runs of each product alone
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=3, help='timed and profiled steps')
    parser.add_argument('--tscam', help='a checkout of the released TS-CAM code')
    args = parser.parse_args()
    if args.tscam:  # a wrong path stops before anything is built
        check_checkout('tscam', args.tscam)
    torch.set_num_threads(args.threads)
    config = METHODS['tscam'][1]
    malloc = apply_cpu_malloc(load_cfg(config, args.size).env_cfg.get('cpu_malloc'), on_cpu=True)
    common = dict(family='deit_s', size=args.size, batch=args.batch, device='cpu',
                  bf16=False, config=config, config_malloc=False)
    specs = [dict(common, name='wsol_mm plain', role='plain'),
             dict(common, name='timm', role='ref'),
             dict(common, name='wsol_mm tscam', role='method')]
    if args.tscam:
        specs.append(dict(common, name='released tscam', role='released', method='tscam',
                          root=args.tscam))
    print(f'# {machine_line("cpu", args.threads)}; every variant: {malloc or "glibc defaults"}')
    print(f'# DeiT-S training steps, batch {args.batch}, {args.size} px, 2 warm-up steps, '
          f'{args.steps} timed (median; one step of each variant in turn) and {args.steps} '
          'profiled per variant')
    steps = {spec['name']: (released_variant if spec['role'] == 'released'
                            else build_variant)(spec).step for spec in specs}
    for step in steps.values():  # first warm-up step (alternate() runs the second)
        step()
    times = alternate(steps, args.steps)
    results = {}
    for name, step in steps.items():
        results[name] = profile_steps(step, args.steps, args.reps)
        results[name]['step'] = median(times[name])
    head = ['step', 'step ms', *[f'{c} (share)' for c in CLASSES], 'outside operators',
            'products GFLOP', 'products GFLOP/s in the step', 'same products alone, GFLOP/s',
            'floor ms (products alone + attention)']
    markdown_table(head, [row(n, r) for n, r in results.items()])
    for name, r in results.items():
        print(f'# {name}, largest other operators (ms per step): ' + ', '.join(
            f'{k} {1e3 * v:.1f}' for k, v in r['largest others']))
    pairs = [('timm', 'wsol_mm plain'), ('released tscam', 'wsol_mm tscam')]
    for theirs, ours in pairs:
        if theirs in results:
            t, o = results[theirs], results[ours]
            rounds = sorted(a / b for a, b in zip(times[theirs], times[ours]))
            print(f'# {theirs} step / {ours} step: {t["step"] / o["step"]:.2f}x (rounds '
                  f'{rounds[0]:.2f}-{rounds[-1]:.2f}x); / {ours}\'s floor: '
                  f'{t["step"] / floor(o):.2f}x (the most any change outside the products '
                  'and the attention could reach)')


if __name__ == '__main__':
    main()
