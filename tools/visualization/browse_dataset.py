"""See what the model is fed: ``browse_dataset.py CONFIG --output-dir DIR [--phase train]``.

For each of the first ``--show-number`` images of a split (every ``--interval``-th), draws
the image with its GT boxes and masks after every pipeline step (``--mode pipeline``) or
only after the last one (``--mode transformed``).
"""
import argparse
import os.path as osp

import numpy as np
from mmengine.registry import DefaultScope

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis.runner_utils import add_config_args, config_from_args, report_user_errors
from wsol_mm.registry import DATASETS
from wsol_mm.utils import UserError, register_all_modules
from wsol_mm.visualization import save_rgb
from wsol_mm.visualization.pipeline_browser import draw_pipeline, pipeline_steps


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Draw the data pipeline, step by step')
    parser.add_argument('config', help='config file')
    parser.add_argument('--output-dir', '-o', required=True, help='folder for the PNGs')
    parser.add_argument('--phase', '-p', default='train', choices=['train', 'val', 'test'],
                        help='which dataloader (default: train)')
    parser.add_argument('--show-number', '-n', type=int, default=8,
                        help='number of images (default 8)')
    parser.add_argument('--interval', type=int, default=1, help='take every N-th image')
    parser.add_argument('--mode', '-m', default='pipeline', choices=['pipeline', 'transformed'],
                        help='every step, or only what the model receives')
    parser.add_argument('--seed', type=int, default=0, help='seed of random transforms')
    add_config_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = config_from_args(args)
    loader = cfg.get(f'{args.phase}_dataloader')
    if not loader:
        raise UserError(f'{args.config} has no {args.phase}_dataloader')
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('wsol_mm'):
        dataset = DATASETS.build(loader['dataset'])
    np.random.seed(args.seed)
    classes = dataset.metainfo.get('classes')
    indices = list(range(0, len(dataset), max(1, args.interval)))[:args.show_number]
    for i in indices:
        steps = pipeline_steps(dataset, i)
        if args.mode == 'transformed':
            steps = steps[-1:]
        img_id = str(dataset.get_data_info(i).get('img_id', i))
        name = osp.splitext(img_id)[0].replace("/", "_")
        out = osp.join(args.output_dir, f"{i:05d}_{name}.png")
        save_rgb(draw_pipeline(steps, img_id, classes), out)
    print(f'{len(indices)} {args.phase} images ({args.mode}) drawn to {args.output_dir}')


if __name__ == '__main__':
    with report_user_errors('browse_dataset.py'):
        main()
