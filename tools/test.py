"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``."""
import sys

from wsol_mm.malloc_preload import preload_for_tool

if __name__ == '__main__':  # --malloc: re-run on tcmalloc before torch is imported
    preload_for_tool(sys.argv[1:])

import argparse
import os.path as osp

from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shims before anything loads torchvision/checkpoints)
from wsol_mm.apis.preflight import check_datasets, drop_pretrained
from wsol_mm.apis.runner_utils import (
    add_common_args,
    apply_common_args,
    build_runner,
    load_checkpoint_strict,
    load_config,
    print_metrics,
    report_user_errors,
)
from wsol_mm.fileio import atomic_write_json
from wsol_mm.utils import UserError


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a WSOL model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='save compact per-image predictions (uint8 GT-class '
                        'maps, scores, boxes) to a .pkl read by analyze_results.py')
    parser.add_argument('--out-topk-cams', action='store_true',
                        help='with --out, keep the top-k predicted classes\' maps too')
    parser.add_argument('--out-scoremaps', help='save GT-class score maps as '
                        'DIR/<image_id>.npy (wsolevaluation layout) plus '
                        'DIR/wsol_mm_samples.npz, for tools/analysis_tools/eval_cams.py')
    parser.add_argument('--metrics-json', help='also write the metrics to this JSON file')
    parser.add_argument('--show-dir', help='save CAM figures under WORK_DIR/TIMESTAMP/DIR')
    parser.add_argument('--show', action='store_true', help='show CAM figures in a window')
    parser.add_argument('--interval', type=int, default=1,
                        help='draw the images whose dataset index is a multiple of N')
    parser.add_argument('--show-max', type=int, help='draw at most N images (default: all)')
    add_common_args(parser)
    return parser.parse_args()


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    apply_common_args(cfg, args)
    cfg.load_from = None  # loaded strictly below: mismatched keys must fail, not warn
    drop_pretrained(cfg.model)  # the checkpoint has every weight: no ImageNet file, no network
    if args.show_dir or args.show:
        vis = cfg.default_hooks.visualization
        vis.update(enable=True, show=args.show, interval=args.interval,
                   max_images=args.show_max)
        if args.show_dir:
            vis.out_dir = args.show_dir
    evaluators = cfg.test_evaluator
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UserError(f'--out {args.out}: the file must end with .pkl')
        evaluators.append(dict(type='DumpWSOLResults', out_file_path=args.out,
                               topk_cams=args.out_topk_cams))
    if args.out_scoremaps:
        # the sidecar records the metrics and the run, so eval_cams.py reproduces them
        run_info = dict(config=args.config, checkpoint=args.checkpoint,
                        split=cfg.test_dataloader.dataset.get('split'))
        evaluators.append(dict(type='DumpScoremaps', out_dir=args.out_scoremaps,
                               metrics=list(evaluators), run_info=run_info))
    cfg.test_evaluator = evaluators
    return cfg


def run_test(args: argparse.Namespace) -> None:
    """Build the runner, load the checkpoint, evaluate and report (the runner lives in this
    frame, so the process group is destroyed with nothing else holding it)."""
    cfg = merge_args(load_config(args.config), args)
    check_datasets(cfg, ['test_dataloader'])
    runner = build_runner(cfg)
    load_checkpoint_strict(runner.model, args.checkpoint)
    metrics = runner.test()
    # before report_user_errors ends: that destroys the process group, after which every
    # rank would count as rank 0 and print the table (and write the JSON) again
    print_metrics(metrics, title=f'{osp.basename(args.config)}: {args.checkpoint}')
    if args.metrics_json and runner.rank == 0:
        atomic_write_json(args.metrics_json,
                          {k: v for k, v in metrics.items() if isinstance(v, (int, float))})


def main() -> None:
    args = parse_args()
    with report_user_errors('test.py'):
        run_test(args)


if __name__ == '__main__':
    main()
