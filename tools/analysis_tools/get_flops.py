"""FLOPs and parameters of a config's model: ``get_flops.py CONFIG [--shape H W]``.

Uses mmengine's complexity analysis on the model's tensor forward (``mode='tensor'``: the
classification logits and class maps) for one image of the test pipeline's size.
"""
import argparse
import sys
from typing import Tuple

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis import init_localizer
from wsol_mm.apis.runner_utils import add_config_args, config_from_args, report_user_errors


def pipeline_input_size(cfg: Config) -> Tuple[int, int]:
    """``(H, W)`` the test pipeline produces (its last Resize / crop), else 224 x 224."""
    size = (224, 224)
    for step in cfg.test_dataloader.dataset.get('pipeline', []):
        value = step.get('scale') if step['type'] == 'Resize' else step.get('crop_size')
        if value is not None and step['type'] in ('Resize', 'CenterCrop'):
            w, h = (value, value) if isinstance(value, int) else value
            size = (h, w)
    return size


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Count FLOPs and parameters of a model')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+',
                        help='input H W (or one side); default: the test pipeline size')
    parser.add_argument('--show-table', action='store_true', help='per-module table')
    add_config_args(parser, data_root=False)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with report_user_errors('get_flops.py'):
        cfg = config_from_args(args)
    if args.shape:
        if len(args.shape) not in (1, 2):
            raise ValueError(f'--shape takes H W or one side, got {args.shape}')
        h, w = (args.shape * 2)[:2]
    else:
        h, w = pipeline_input_size(cfg)
    for key in ('backbone', 'neck'):  # no weight download just to count operations
        if isinstance(cfg.model.get(key), dict) and 'pretrained' in cfg.model[key]:
            cfg.model[key]['pretrained'] = False
    model = init_localizer(cfg, None)
    with torch.no_grad():
        info = get_model_complexity_info(model, inputs=(torch.zeros(1, 3, h, w), ),
                                         show_table=args.show_table, show_arch=False)
    if args.show_table:
        print(info['out_table'])
    line = '=' * 40
    print(f'{line}\nInput shape: (3, {h}, {w})\nFlops: {info["flops_str"]}\n'
          f'Params: {info["params_str"]}\n{line}')
    print('FLOPs are counted by tracing one forward pass (multiply-adds); check that all '
          'operators of your model are supported if the number looks low.')


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:  # user input: one message, no traceback
        sys.exit(f'get_flops.py: {err}')
