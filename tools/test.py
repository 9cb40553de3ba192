"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

import wsol_mm  # noqa: F401  (compat shims before anything loads torchvision/checkpoints)
from wsol_mm.apis.runner_utils import (
    build_runner,
    load_checkpoint_strict,
    print_metrics,
    save_json_atomic,
    validate_cfg_options,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a WSOL model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump all predictions (samples with CAMs) to a .pkl')
    parser.add_argument('--out-scoremaps', help='save GT-class score maps as '
                        'DIR/<image_id>.npy (the wsolevaluation layout read by '
                        'tools/analysis_tools/eval_cams.py)')
    parser.add_argument('--metrics-json', help='also write the metrics to this JSON file')
    parser.add_argument('--show-dir', help='save CAM overlays under WORK_DIR/TIMESTAMP/DIR')
    parser.add_argument('--show', action='store_true', help='show overlays in a window')
    parser.add_argument('--interval', type=int, default=1, help='draw every N-th image')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=8')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command line to the config."""
    if args.cfg_options:
        validate_cfg_options(cfg, args.cfg_options)
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = None  # loaded strictly below: mismatched keys must fail, not warn
    if args.show_dir or args.show:
        vis = cfg.default_hooks.visualization
        vis.update(enable=True, show=args.show, interval=args.interval)
        if args.show_dir:
            vis.out_dir = args.show_dir
    evaluators = cfg.test_evaluator
    evaluators = list(evaluators) if isinstance(evaluators, (list, tuple)) else [evaluators]
    if args.out:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out {args.out}: the file must end with .pkl')
        evaluators.append(dict(type='DumpResults', out_file_path=args.out))
    if args.out_scoremaps:
        evaluators.append(dict(type='DumpScoremaps', out_dir=args.out_scoremaps))
    cfg.test_evaluator = evaluators
    return cfg


def main() -> None:
    args = parse_args()
    cfg = merge_args(Config.fromfile(args.config), args)
    runner = build_runner(cfg)
    load_checkpoint_strict(runner, args.checkpoint)
    metrics = runner.test()
    print_metrics(metrics, title=f'{osp.basename(args.config)}: {args.checkpoint}')
    if args.metrics_json:
        save_json_atomic({k: v for k, v in metrics.items() if isinstance(v, (int, float))},
                         args.metrics_json)


if __name__ == '__main__':
    main()
