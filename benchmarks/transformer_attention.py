"""Training-step cost of the cls-attention row versus the materialised full attention.

For each model (TS-CAM DeiT-S; LCA-MD DeiT-S = TS-CAM + TFCM + SSFM losses) one
process builds the model once and, in the same run, measures a full training step
(forward + loss + backward + AdamW step) with the backbone in ``attn_mode='row'``
(fused attention + cls-query row) and ``'full'`` (explicit N x N softmax, as released):

* time per step (mean of ``--steps`` after one warm-up step);
* activation memory saved for backward (bytes of the distinct tensor storages autograd
  keeps, via ``saved_tensors_hooks``; exact and device-independent);
* on CUDA also ``torch.cuda.max_memory_allocated`` of the step.

Usage:
    python benchmarks/transformer_attention.py [--device cpu|cuda] [--batch 4] [--steps 2]
"""
import argparse
import os.path as osp
import time
from typing import Dict, List

import torch
from memory import saved_bytes  # benchmarks/memory.py (the script's folder is on sys.path)
from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shim before timm)
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')
# name -> (config path, registered localizer type it needs)
MODEL_CONFIGS: Dict[str, tuple] = {
    'tscam_deit_s': ('configs/tscam/deit_s_cub.py', 'TSCAMLocalizer'),
    'lcamd_deit_s': ('configs/lca_md/deit_s_cub.py', 'TSCAMLocalizer'),
}


def build(name: str, device: str) -> torch.nn.Module:
    cfg = Config.fromfile(osp.join(ROOT, MODEL_CONFIGS[name][0]))
    cfg.model.backbone.pretrained = None
    return MODELS.build(cfg.model).to(device).train()


def measure(model: torch.nn.Module, mode: str, batch: int, steps: int, device: str) -> dict:
    model.backbone.attn_mode = mode
    optim = torch.optim.AdamW(model.parameters(), lr=1e-6)
    inputs = torch.randn(batch, 3, 224, 224, device=device)
    samples: List[WSOLDataSample] = []
    for i in range(batch):
        s = WSOLDataSample(metainfo=dict(img_shape=(224, 224)))
        s.set_gt_label(i % model.num_classes)
        samples.append(s)

    def step() -> None:
        optim.zero_grad(set_to_none=True)
        losses = model(inputs, samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        optim.step()

    act = saved_bytes(step)  # doubles as the warm-up step
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    peak = None
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    elapsed = (time.perf_counter() - start) / steps
    if device.startswith('cuda'):
        peak = torch.cuda.max_memory_allocated()
    return dict(time=elapsed, act=act, peak=peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--models', default=','.join(MODEL_CONFIGS))
    args = parser.parse_args()
    register_all_modules()
    torch.manual_seed(0)
    print(f'device={args.device} batch={args.batch} steps={args.steps} torch={torch.__version__}')
    for name in args.models.split(','):
        path, kind = MODEL_CONFIGS[name]
        if kind not in MODELS.module_dict or not osp.isfile(osp.join(ROOT, path)):
            print(f'{name}: skipped ({kind} / {path} not in this checkout)')
            continue
        model = build(name, args.device)
        res = {mode: measure(model, mode, args.batch, args.steps, args.device)
               for mode in ('row', 'full')}
        for mode, r in res.items():
            peak = '' if r['peak'] is None else f'  peak_alloc={r["peak"] / 2**20:8.1f} MiB'
            print(f'{name:14s} attn={mode:4s}  step={r["time"] * 1e3:8.1f} ms  '
                  f'saved_activations={r["act"] / 2**20:8.1f} MiB{peak}')
        row, full = res['row'], res['full']
        line = (f'{name:14s} full/row: time x{full["time"] / row["time"]:.2f}, '
                f'saved activations x{full["act"] / row["act"]:.2f}')
        if row['peak']:
            line += f', peak alloc x{full["peak"] / row["peak"]:.2f}'
        print(line)


if __name__ == '__main__':
    main()
