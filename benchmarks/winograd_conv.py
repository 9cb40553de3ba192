"""Winograd F(4x4, 3x3) against the direct (oneDNN) convolution, layer by layer.

For the 3x3 stride-1 layers of the shipped CNN configs (VGG16 with its 28x28 map,
InceptionV3's head, ResNet50's stride-1 layer3 / layer4) and a few narrower ones, times one
training step of the layer alone (forward, input and weight gradients) with the direct
convolution (``F.conv2d``, channels-last, as the configs feed it) and with
:class:`WinogradConv2dFunction`, alternating, fastest of ``--reps``; prints both, the
ratio, and the largest error of each against the float64 convolution, relative to the
output's largest value. ``winograd_convs`` swaps the layers with at least 128 input and 256
output channels (``MIN_IN_CHANNELS`` / ``MIN_OUT_CHANNELS``), in a batch of at least
``MIN_TILES`` 4x4 output tiles (``swapped`` says whether a layer of that size runs it).
Where ``MKL_WEIGHT_GRAD`` holds (an AMD Zen 4 or older), Winograd's weight-gradient
products go through MKL for layers that do not narrow; there the table also times
Winograd with every product through oneDNN (as on other CPUs) and prints the speed-up of
this CPU's choice over it.

Then, unless ``--steps 0``, whole training steps (``model.train_step``, batch 8, 224 px,
``benchmarks/train_step.py``'s setup) of the crop consistency configs and of the localizer
they wrap (the plain step), each with ``winograd_convs`` on and off, the four variants of a
backbone alternating step by step: the fastest step of each, the speed-ups, and for how
many of the swapped layers' input shapes the warm-up step's timing
(``winograd_is_faster``) kept the Winograd path; where ``MKL_WEIGHT_GRAD`` holds, two more
variants (plain and crop consistency, Winograd with every product through oneDNN) and
the speed-up of MKL's weight gradients on the fastest and the median step.

``--rss`` adds the peak resident memory of crop consistency steps with and without, each
side in its own process: of the first step (which times the layer shapes) and of the
next two.

Usage:
    python benchmarks/winograd_conv.py [--batch 8] [--reps 3] [--threads 2] [--steps 3]
        [--backbones vgg16 inception_v3 resnet50] [--rss]
"""
import argparse
import subprocess
import sys
import time
from statistics import median
from typing import Callable, List

import torch
import torch.nn.functional as F
from linear_layers import every_product_through_onednn, weight_grads_through_onednn
from step_report import machine_line
from train_step import METHODS, batch, load_cfg, plain_model_cfg, wsol_variant  # benchmarks/
from variants import peak_resident_bytes

import wsol_mm  # noqa: F401  (compat shim)
from wsol_mm.models.layers import winograd_conv2d as layer_module
from wsol_mm.models.layers.winograd_conv2d import MIN_IN_CHANNELS, MIN_OUT_CHANNELS, MIN_TILES
from wsol_mm.models.utils.onednn_linear_function import MKL_WEIGHT_GRAD
from wsol_mm.models.utils.winograd_conv2d_function import WinogradConv2dFunction
from wsol_mm.utils import register_all_modules

# (in channels, out channels, map size, where)
LAYERS = [
    (64, 64, 224, 'VGG16 conv1_2'), (128, 128, 112, 'VGG16 conv2_2'),
    (128, 256, 56, 'VGG16 conv3_1'), (256, 256, 56, 'VGG16 conv3_2'),
    (256, 512, 28, 'VGG16 conv4_1'), (512, 512, 28, 'VGG16 conv4_2, conv5_x'),
    (512, 1024, 28, 'VGG16 conv6'), (128, 128, 28, 'ResNet50 layer2'),
    (256, 256, 28, 'ResNet50 layer3'), (512, 512, 28, 'ResNet50 layer4'),
    (288, 384, 28, 'InceptionV3 Mixed_6a'), (768, 1024, 28, 'InceptionV3 head conv1'),
    (1024, 1024, 28, 'InceptionV3 head conv2'),
]


def step_time(fn: Callable[[], None], times: List[float]) -> None:
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3, help='timed steps; 0: layers only')
    parser.add_argument('--backbones', nargs='+', default=['vgg16', 'inception_v3', 'resnet50'])
    parser.add_argument('--rss', action='store_true',
                        help='also the peak RSS of crop consistency steps, each side in '
                        'its own process')
    parser.add_argument('--rss-child', nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.rss_child:
        return rss_child(args.rss_child[0], args.rss_child[1] == '1', args.batch)
    layer_table(args)
    if args.steps:
        step_table(args)
    if args.rss:
        rss_table(args)


def layer_table(args: argparse.Namespace) -> None:
    print(f'# {machine_line("cpu", args.threads)}')
    print(f'# MKL weight gradients (MKL_WEIGHT_GRAD): {"yes" if MKL_WEIGHT_GRAD else "no"}')
    print(f'# one layer training step (forward + input and weight gradients), batch '
          f'{args.batch}, float32, {args.threads} threads, fastest of {args.reps}')
    print('| layer | channels | map | direct ms | Winograd ms | speed-up | swapped | '
          'max error direct / Winograd (relative) | Winograd, every product through '
          'oneDNN ms | MKL weight grads: speed-up |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    gen = torch.Generator().manual_seed(0)
    for c_in, c_out, size, where in LAYERS:
        x = torch.randn(args.batch, c_in, size, size, generator=gen)
        x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
        w = torch.randn(c_out, c_in, 3, 3, generator=gen) / (9 * c_in)**0.5
        w = w.contiguous(memory_format=torch.channels_last).requires_grad_()
        b = torch.zeros(c_out, requires_grad=True)
        g = torch.randn(args.batch, c_out, size, size, generator=gen)
        g = g.contiguous(memory_format=torch.channels_last)

        def direct() -> None:
            torch.autograd.grad(F.conv2d(x, w, b, padding=1), [x, w, b], g)

        def winograd() -> None:
            torch.autograd.grad(WinogradConv2dFunction.apply(x, w, b), [x, w, b], g)

        def winograd_onednn() -> None:
            with weight_grads_through_onednn():
                winograd()
        direct()
        winograd()
        if MKL_WEIGHT_GRAD:
            winograd_onednn()
        t_direct: List[float] = []
        t_wino: List[float] = []
        t_dnn: List[float] = []
        for _ in range(args.reps):
            step_time(direct, t_direct)
            step_time(winograd, t_wino)
            if MKL_WEIGHT_GRAD:
                step_time(winograd_onednn, t_dnn)
        with torch.no_grad():
            exact = F.conv2d(x.double(), w.double(), b.double(), padding=1)
            scale = exact.abs().max()
            err_d = (F.conv2d(x, w, b, padding=1).double() - exact).abs().max() / scale
            err_w = (WinogradConv2dFunction.apply(x, w, b).double() - exact).abs().max() / scale
        tiles = args.batch * ((size + 3) // 4)**2
        swapped = c_in >= MIN_IN_CHANNELS and c_out >= MIN_OUT_CHANNELS and tiles >= MIN_TILES
        dnn = (f'{min(t_dnn) * 1e3:.1f} | {min(t_dnn) / min(t_wino):.2f}' if t_dnn
               else '- | -')
        print(f'| {where} | {c_in}->{c_out} | {size} | {min(t_direct) * 1e3:.1f} | '
              f'{min(t_wino) * 1e3:.1f} | {min(t_direct) / min(t_wino):.2f} | '
              f'{"yes" if swapped else "no"} | {err_d:.1e} / {err_w:.1e} | {dnn} |',
              flush=True)


def step_table(args: argparse.Namespace) -> None:
    register_all_modules()
    data = batch(224, args.batch, 'cpu')[0]
    sides = (False, True, 'onednn') if MKL_WEIGHT_GRAD else (False, True)
    print(f'\n# training steps, batch {args.batch}, 224 px, 1 warm-up + {args.steps} timed '
          f'steps (fastest), the {len(sides) * 2} variants alternating')
    print('| backbone | plain direct s | plain Winograd s | speed-up | crop consistency '
          'direct s | crop consistency Winograd s | speed-up | Winograd kept (layer shapes) '
          '| MKL weight grads: speed-up, plain / crop consistency (fastest; median) |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    for family in args.backbones:
        layer_module._FASTER.clear()  # the shapes that this backbone's warm-up step times
        cfg = load_cfg(METHODS[f'crop_{family}'][1], 224)
        models = dict(plain=plain_model_cfg(family, cfg), crop=dict(cfg.model))
        variants = {(kind, wino): wsol_variant(kind, dict(model, winograd_convs=bool(wino)),
                                               cfg.optim_wrapper, data, 'cpu')
                    for kind, model in models.items() for wino in sides}
        for kind in models:
            if (kind, 'onednn') in variants:
                every_product_through_onednn(variants[kind, 'onednn'])
        times = {key: [] for key in variants}
        for i in range(args.steps + 1):
            for key, variant in variants.items():
                step_time(variant.step, times[key])
        best = {key: min(t[1:]) for key, t in times.items()}
        middle = {key: median(t[1:]) for key, t in times.items()}
        row = [family]
        for kind in ('plain', 'crop'):
            direct, wino = best[(kind, False)], best[(kind, True)]
            row += [f'{direct:.2f}', f'{wino:.2f}', f'{direct / wino:.2f}']
        kept = sum(layer_module._FASTER.values())
        row.append(f'{kept} of {len(layer_module._FASTER)}')
        row.append(' / '.join(
            f'{best[kind, "onednn"] / best[kind, True]:.2f}x; '
            f'{middle[kind, "onednn"] / middle[kind, True]:.2f}x' for kind in models)
            if MKL_WEIGHT_GRAD else '-')
        print('| ' + ' | '.join(row) + ' |', flush=True)


def rss_child(family: str, winograd: bool, n: int) -> None:
    register_all_modules()
    cfg = load_cfg(METHODS[f'crop_{family}'][1], 224)
    variant = wsol_variant('crop', dict(cfg.model, winograd_convs=winograd),
                           cfg.optim_wrapper, batch(224, n, 'cpu')[0], 'cpu')
    variant.step()  # the first step: with the timing of each layer shape
    first = _peak_mb()
    with open('/proc/self/clear_refs', 'w') as refs:
        refs.write('5')  # resets VmHWM to the current RSS
    for _ in range(2):
        variant.step()
    print(first, _peak_mb())


def _peak_mb() -> int:
    return peak_resident_bytes() // 2**20


def rss_table(args: argparse.Namespace) -> None:
    print('\n# peak RSS of crop consistency training steps (MB), each side in its own '
          'process: the first step (with the timing of the layer shapes) and steps 2-3')
    print('| backbone | direct, first | Winograd, first | ratio | direct, steps 2-3 | '
          'Winograd, steps 2-3 | ratio |')
    print('| --- | --- | --- | --- | --- | --- | --- |')
    for family in args.backbones:
        peaks = [[int(mb) for mb in subprocess.run(
            [sys.executable, __file__, '--rss-child', family, str(wino), '--batch',
             str(args.batch), '--threads', str(args.threads)], check=True,
            capture_output=True, text=True).stdout.split()[-2:]] for wino in (0, 1)]
        row = [family]
        for i in (0, 1):
            row += [str(peaks[0][i]), str(peaks[1][i]), f'{peaks[1][i] / peaks[0][i]:.2f}']
        print('| ' + ' | '.join(row) + ' |', flush=True)


if __name__ == '__main__':
    main()
