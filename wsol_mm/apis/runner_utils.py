"""Runner construction and reporting shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from wsol_mm.compat import setup_cpu_distributed
from wsol_mm.utils import register_all_modules

from .cfg_options import ConfigOptionError, apply_overrides


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``tools/train.py`` and ``tools/test.py``."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2 (checked '
                        'against the arguments of the classes they configure)')
    parser.add_argument('--data-root', help='dataset root of every dataloader (and the '
                        'paths derived from it), e.g. --data-root /datasets/CUB_200_2011')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def apply_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge ``--data-root``, ``--cfg-options`` (checked), launcher and work dir into ``cfg``."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    try:
        apply_overrides(cfg, args.cfg_options, args.data_root)
    except ConfigOptionError as err:  # a user's mistake: one message, no traceback
        raise SystemExit(f'error: {err}') from None
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    return cfg


def default_work_dir(config: str) -> str:
    """``work_dirs/<method folder>/<config name>`` (config names repeat across method folders:
    ``cam/resnet50_cub.py``, ``has/resnet50_cub.py``); ``work_dirs/<name>`` outside ``configs/``."""
    name = osp.splitext(osp.basename(config))[0]
    parent = osp.basename(osp.dirname(osp.abspath(config)))
    grand = osp.basename(osp.dirname(osp.dirname(osp.abspath(config))))
    return osp.join('./work_dirs', parent, name) if grand == 'configs' else osp.join(
        './work_dirs', name)


def build_runner(cfg: Config) -> Runner:
    """Register modules, prepare CPU DDP if needed, fix dataloader defaults, build.

    The runner is a :class:`~wsol_mm.engine.runner.WSOLRunner` (short console start-up
    summary) unless the config names a ``runner_type``.
    """
    register_all_modules(init_default_scope=False)
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader:
            # persistent_workers=True with num_workers=0 raises inside torch
            loader.persistent_workers = bool(loader.get('persistent_workers', False)
                                             and loader.get('num_workers', 0) > 0)
    if cfg.get('runner_type'):
        from wsol_mm.registry import RUNNERS
        return RUNNERS.build(cfg)
    from wsol_mm.engine.runner import WSOLRunner
    return WSOLRunner.from_cfg(cfg)


def load_checkpoint_strict(runner: Runner, filename: str) -> None:
    """Load model weights, failing with the missing/unexpected keys on any mismatch."""
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} not found')
    try:
        runner.load_checkpoint(filename, map_location='cpu', strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'checkpoint {filename} does not match the model of this config '
                           f'(wrong config, or convert it with tools/model_converters/):\n'
                           f'{err}') from None


def print_metrics(metrics: Dict[str, float], title: Optional[str] = None,
                  baselines: Optional[Dict[str, Dict[str, float]]] = None,
                  first_name: str = 'model') -> None:
    """Print metrics as a table (one column per model/baseline), once: on rank 0."""
    if not is_main_process():
        return
    columns = {first_name: metrics, **(baselines or {})}
    keys = [k for k in metrics if not isinstance(metrics[k], (list, dict))]
    width = max([len(k) for k in keys] + [6])
    if title:
        print(f'\n{title}')
    header = f'{"metric":<{width}} | ' + ' | '.join(f'{c:>14}' for c in columns)
    print(header)
    print('-' * len(header))
    for key in keys:
        cells = []
        for values in columns.values():
            v = values.get(key)
            cells.append(f'{v:>14.2f}' if isinstance(v, (int, float)) else f'{"-":>14}')
        print(f'{key:<{width}} | ' + ' | '.join(cells))


def save_json_atomic(obj: dict, path: str) -> None:
    """Write JSON through a temporary file so a killed run leaves no half file."""
    import json
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2)
    os.replace(tmp, path)
