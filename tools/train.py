"""Train a WSOL model: ``python tools/train.py CONFIG [options]``."""
import sys

from wsol_mm.malloc_preload import preload_for_tool

if __name__ == '__main__':  # --malloc: re-run on tcmalloc before torch is imported
    preload_for_tool(sys.argv[1:])

import argparse
import logging
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

import wsol_mm  # noqa: F401  (compat shims before anything loads torchvision/checkpoints)
from wsol_mm.apis.preflight import check_datasets
from wsol_mm.apis.runner_utils import (
    add_common_args,
    apply_common_args,
    build_runner,
    load_config,
    print_metrics,
    report_user_errors,
    resolve_auto_resume,
)
from wsol_mm.engine.optimizers import amp_optim_wrapper, bf16_note


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a WSOL model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work '
                        'dir when no path is given')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: bfloat16 autocast on CPU (fast with '
                        'AVX-512-BF16 / AMX) and GPU; float16 + loss scaling on older GPUs')
    parser.add_argument('--no-validate', action='store_true', help='skip validation')
    parser.add_argument('--test', action='store_true',
                        help='after training, evaluate on the test split and print a table')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by the real batch size / base_batch_size')
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    apply_common_args(cfg, args)
    if args.amp:  # bfloat16 autocast on CPU / GPU (float16 + loss scaling on old GPUs)
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
        amp_optim_wrapper(cfg.optim_wrapper, device)
        note = bf16_note(device)
        if note:
            print_log(note, logger='current', level=logging.WARNING)
    if args.resume == 'auto':
        cfg.load_from = resolve_auto_resume(cfg.work_dir)
        cfg.resume = cfg.load_from is not None  # nothing saved yet: start from scratch
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.default_hooks.checkpoint.save_best = None
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    return cfg


def train(args: argparse.Namespace) -> None:
    """Build the runner and train (the runner lives in this frame: see ``main``)."""
    cfg = merge_args(load_config(args.config), args)
    # the data first: building the model may mean a long weights download
    check_datasets(cfg, ['train_dataloader', 'val_dataloader'] +
                   (['test_dataloader'] if args.test else []))
    runner = build_runner(cfg)
    runner.train()
    if args.test:
        print_metrics(runner.test(), title=f'test split: {osp.basename(args.config)}')


def main() -> None:
    args = parse_args()
    # The runner is train()'s local, gone when the block ends: the process group is then
    # destroyed with nothing else holding it (see report_user_errors).
    with report_user_errors('train.py'):
        train(args)


if __name__ == '__main__':
    main()
