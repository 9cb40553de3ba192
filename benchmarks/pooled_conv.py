"""Pooled convolutions formed and not formed: LCA-MD's TFCM features and TS-CAM's GAP logits.

In one process, alternating, fastest and median of ``--reps`` (forward and backward, DeiT-S
CUB shapes: batch 8, 14 x 14 patches):

* TFCM's attention-weighted means of its 3x3 projection of the 200 class maps: the
  projection formed and pooled (the released computation, and wsol_mm's path for a
  convolution that ``pooled_conv_supported`` refuses) against ``pooled_conv`` (this
  release's default);
* TS-CAM's logits, the GAP of the 3x3 head (384 -> 200 channels): the maps formed and
  averaged against ``ConvCAMHead.logits_from_feats`` (``pooled_conv`` without weights).

The script fails if the two sides' values differ beyond float32 rounding.

Usage:
    python benchmarks/pooled_conv.py [--reps 20] [--batch 8] [--threads 2]
"""
import argparse
import time
from typing import Callable, Dict, List

import torch

from wsol_mm.models.heads import ConvCAMHead
from wsol_mm.models.necks import TFCM


def alternate(fns: Dict[str, Callable[[], torch.Tensor]], reps: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, one call of each in turn, after one warm-up."""
    outs = {name: fn() for name, fn in fns.items()}
    first, *others = outs.values()
    for other in others:
        if not torch.allclose(other, first, rtol=1e-4, atol=1e-5):
            raise SystemExit('the two sides differ beyond float32 rounding')
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def row(label: str, times: Dict[str, List[float]]) -> None:
    (old, t_old), (new, t_new) = times.items()
    fast = [min(t) * 1e3 for t in (t_old, t_new)]
    med = [sorted(t)[len(t) // 2] * 1e3 for t in (t_old, t_new)]
    print(f'| {label} | {fast[0]:.2f} / {med[0]:.2f} | {fast[1]:.2f} / {med[1]:.2f} '
          f'| {fast[0] / fast[1]:.1f}x / {med[0] / med[1]:.1f}x |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=20)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    maps = torch.randn(args.batch, 200, 14, 14, generator=gen)
    attn = torch.rand(args.batch, 1, 14, 14, generator=gen) * 2  # raw sum: 1 - a < 0 too
    tokens = torch.randn(args.batch, 384, 14, 14, generator=gen)
    tfcm, head = TFCM(num_classes=200), ConvCAMHead(num_classes=200, in_channels=384)

    def tfcm_side(formed: bool) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            x = maps.clone().requires_grad_(True)
            if formed:
                proj = tfcm.conv(x)
                fg, bg = (proj * attn).mean((-2, -1)), (proj * (1 - attn)).mean((-2, -1))
            else:
                fg, bg = tfcm(x, attn)
            (fg.square().sum() + bg.sum()).backward()
            return torch.cat([fg, bg], dim=1).detach()
        return run

    def head_side(formed: bool) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            x = tokens.clone().requires_grad_(True)
            feats = (x, )
            logits = (head.logits_from_maps(feats, head.class_maps(feats)) if formed
                      else head.logits_from_feats(feats))
            logits.square().sum().backward()
            return logits.detach()
        return run

    print(f'# batch {args.batch}, 14 x 14 patches, {args.threads} threads, forward + backward, '
          f'fastest / median of {args.reps}, ms')
    print('| part | formed | pooled_conv | speed-up |\n| --- | --- | --- | --- |')
    row('TFCM features, 200 -> 200 channels',
        alternate({'formed': tfcm_side(True), 'pooled': tfcm_side(False)}, args.reps))
    row('TS-CAM GAP logits, 384 -> 200 channels',
        alternate({'formed': head_side(True), 'pooled': head_side(False)}, args.reps))


if __name__ == '__main__':
    main()
