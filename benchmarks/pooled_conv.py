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
from typing import Callable, Dict

import torch
from alternating import alternate, micro_args, row  # benchmarks/ (on sys.path)

from wsol_mm.models.heads import ConvCAMHead
from wsol_mm.models.necks import TFCM


def checked(fns: Dict[str, Callable[[], torch.Tensor]]) -> Dict[str, Callable[[], torch.Tensor]]:
    """``fns``, once their values agree to float32 rounding (else the script stops)."""
    first, *others = [fn() for fn in fns.values()]
    if not all(torch.allclose(other, first, rtol=1e-4, atol=1e-5) for other in others):
        raise SystemExit('the two sides differ beyond float32 rounding')
    return fns


def main() -> None:
    args = micro_args(__doc__, reps=20)
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
    for label, side in (('TFCM features, 200 -> 200 channels', tfcm_side),
                        ('TS-CAM GAP logits, 384 -> 200 channels', head_side)):
        fns = checked({'formed': side(True), 'pooled': side(False)})
        row(label, alternate(fns, args.reps), 'formed', 'pooled')


if __name__ == '__main__':
    main()
