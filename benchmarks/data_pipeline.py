"""Images/s of one data-loading worker: wsol_mm's CUB training pipeline against torchvision.

Generates ``--num`` JPEGs of CUB-like sizes (random sides in 300-500 px, quality 90,
smooth random content so that the JPEG decoder has realistic work) in a temporary
folder, then times, on the same files and in one process with one torch thread (one
worker of a data loader):

* ``wsol_mm``: the registered transforms of ``configs/_base_/datasets/
  cub_native_lca_md_bs256_224.py`` (the DeiT recipe: decode, ``RandomResizedCrop`` 224
  scale 0.08-1 bicubic, ``RandomFlip``, ``RandAugment rand-m9-mstd0.5-inc1``,
  ``RandomErasing`` p 0.25 pixel, ``PackWSOLInputs``); its output is a uint8 tensor
  (normalisation runs batched in the data preprocessor, on the training device).
* ``torchvision``: PIL decode, ``T.RandomResizedCrop`` (same arguments),
  ``T.RandomHorizontalFlip``, ``T.RandAugment(2, 9)``, ``T.ToTensor``, ``T.Normalize``,
  ``T.RandomErasing(0.25, value='random')`` (float output).
* ``timm recipe``: as torchvision but with timm's RandAugment and RandomErasing (the
  released DeiT / LCA-MD code's loader, ``timm.data.create_transform``).

The variants alternate image by image (so load changes hit all alike), for
``--rounds`` rounds over the files; images/s is the median over rounds. A per-stage
table (each transform timed alone, same files) shows where the time goes. Prints the
ratio wsol_mm / reference (>= 1 means wsol_mm is at least as fast).

Usage:
    python benchmarks/data_pipeline.py [--num 64] [--rounds 3] [--seed 0]
"""
import argparse
import os.path as osp
import tempfile
import time
from statistics import median
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from mmengine.config import Config
from PIL import Image

import wsol_mm  # noqa: F401  (compat shims before timm / torchvision)
from wsol_mm.datasets.transforms.rand_augment import black_posterize
from wsol_mm.registry import TRANSFORMS
from wsol_mm.utils import register_all_modules
from wsol_mm.utils.cpu_info import cpu_model

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')
CONFIG = 'configs/_base_/datasets/cub_native_lca_md_bs256_224.py'
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def make_jpegs(folder: str, num: int, seed: int) -> List[str]:
    """``num`` smooth random RGB JPEGs with CUB-like sides (300-500 px)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(num):
        h, w = (int(s) for s in rng.integers(300, 501, size=2))
        low = rng.integers(0, 256, size=(h // 16 + 1, w // 16 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(low).resize((w, h), Image.BICUBIC)
        noise = rng.normal(0, 12, size=(h, w, 3))
        arr = np.clip(np.asarray(img, np.float64) + noise, 0, 255).astype(np.uint8)
        path = osp.join(folder, f'{i:04d}.jpg')
        Image.fromarray(arr).save(path, quality=90)
        paths.append(path)
    return paths


def wsol_stages() -> List[Tuple[str, Callable]]:
    """The config's training transforms, built from the registry."""
    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    return [(t['type'], TRANSFORMS.build(t)) for t in cfg.train_pipeline]


def wsol_input(path: str) -> dict:
    return dict(img_path=path, gt_label=3, gt_bboxes=np.array([[10., 10., 100., 100.]]))


def torchvision_stages(timm_ops: bool) -> List[Tuple[str, Callable]]:
    import torchvision.transforms as T
    from torchvision.transforms import InterpolationMode

    def load(path: str) -> Image.Image:
        with open(path, 'rb') as f:
            return Image.open(f).convert('RGB')

    if timm_ops:
        from timm.data.auto_augment import rand_augment_transform
        from timm.data.random_erasing import RandomErasing
        # posterize keeping 0 bits gives black, as with the recipe's Pillow (the pinned one
        # raises); wsol_mm's RandAugment does the same
        augment = black_posterize(rand_augment_transform(
            'rand-m9-mstd0.5-inc1', dict(translate_const=int(224 * 0.45),
                                         img_mean=tuple(round(255 * m) for m in MEAN),
                                         interpolation=Image.BICUBIC)))
        erase = RandomErasing(0.25, mode='pixel', max_count=1, device='cpu')
    else:
        augment = T.RandAugment(2, 9, interpolation=InterpolationMode.BILINEAR)
        erase = T.RandomErasing(0.25, value='random')
    return [('decode', load),
            ('RandomResizedCrop', T.RandomResizedCrop(
                224, scale=(0.08, 1.0), interpolation=InterpolationMode.BICUBIC)),
            ('RandomFlip', T.RandomHorizontalFlip()), ('RandAugment', augment),
            ('ToTensor+Normalize', T.Compose([T.ToTensor(), T.Normalize(MEAN, STD)])),
            ('RandomErasing', erase)]


def run_all(stages: List[Tuple[str, Callable]], item, times: Dict[str, float]):
    for name, fn in stages:
        start = time.perf_counter()
        item = fn(item)
        times[name] = times.get(name, 0.0) + time.perf_counter() - start
    return item


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=64, help='generated JPEGs')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one data-loader worker
    register_all_modules()
    variants = {'wsol_mm': (wsol_stages(), wsol_input),
                'torchvision': (torchvision_stages(False), str),
                'timm recipe': (torchvision_stages(True), str)}
    with tempfile.TemporaryDirectory() as folder:
        paths = make_jpegs(folder, args.num, args.seed)
        for stages, make in variants.values():  # warm-up (imports, PIL plugins, caches)
            for path in paths[:4]:
                run_all(stages, make(path), {})
        rates: Dict[str, List[float]] = {k: [] for k in variants}
        stage_times: Dict[str, Dict[str, float]] = {k: {} for k in variants}
        for r in range(args.rounds):
            torch.manual_seed(args.seed + r)
            total = {k: 0.0 for k in variants}
            for path in paths:
                for name, (stages, make) in variants.items():
                    start = time.perf_counter()
                    run_all(stages, make(path), stage_times[name])
                    total[name] += time.perf_counter() - start
            for name in variants:
                rates[name].append(len(paths) / total[name])
    print(f'# CUB training pipeline, {args.num} generated JPEGs (300-500 px), '
          f'{args.rounds} rounds, 1 thread (one worker); {cpu_model()}')
    print('\n| pipeline | images/s per worker | wsol_mm / this |')
    print('| --- | --- | --- |')
    ours = median(rates['wsol_mm'])
    for name in variants:
        print(f'| {name} | {median(rates[name]):.1f} | {ours / median(rates[name]):.2f} |')
    print('\n| stage (ms / image) | ' + ' | '.join(variants) + ' |')
    print('| --- |' + ' --- |' * len(variants))
    n = args.num * args.rounds
    rows = ['decode', 'RandomResizedCrop', 'RandomFlip', 'RandAugment', 'RandomErasing']
    aliases = dict(decode='LoadImageFromFile')
    for row in rows + ['other']:
        cells = []
        for name in variants:
            t = stage_times[name]
            if row == 'other':
                used = {aliases.get(s, s) for s in rows}
                val = sum(v for k, v in t.items() if k not in used)
            else:
                val = t.get(aliases.get(row, row) if name == 'wsol_mm' else row, 0.0)
            cells.append(f'{1000 * val / n:.2f}')
        print(f'| {row} | ' + ' | '.join(cells) + ' |')
    print('\n# other: wsol_mm LoadWSOLAnnotations + PackWSOLInputs (uint8 CHW tensor); '
          'torchvision/timm ToTensor + Normalize (float CHW)')


if __name__ == '__main__':
    main()
