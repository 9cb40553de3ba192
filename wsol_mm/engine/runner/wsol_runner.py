"""The mmengine Runner with a short console start-up summary."""
import os.path as osp
from typing import List

import torch
from mmengine.logging import MMLogger
from mmengine.runner import Runner

from wsol_mm.malloc_preload import allocator_note
from wsol_mm.registry import RUNNERS
from wsol_mm.utils.console_log_filter import ConsoleLogFilter, attach_console_filter
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc


def _type_names(cfg) -> str:
    items = cfg if isinstance(cfg, (list, tuple)) else [cfg]
    return ', '.join(str(c.get('type', '?')) for c in items if c)


@RUNNERS.register_module()
class WSOLRunner(Runner):
    """mmengine's :class:`~mmengine.runner.Runner` whose console starts with a summary.

    mmengine logs about 280 lines before the first iteration (environment, the
    whole config, the hook table, one line per parameter from the optimizer
    constructor's ``paramwise_cfg``). The console handlers of this runner's
    logger drop those blocks (:class:`ConsoleLogFilter`); the log file in the
    run's folder keeps every line and the full config is written to the work
    dir as usual. In their place the console shows :meth:`startup_summary`.
    Arguments are those of mmengine's ``Runner``.
    """

    def __init__(self, *args, **kwargs) -> None:
        self._malloc_note = self._allocator_note = ''
        super().__init__(*args, **kwargs)
        self.logger.info(self.startup_summary())

    def setup_env(self, env_cfg: dict) -> None:
        """mmengine's set-up, then ``env_cfg.cpu_malloc`` on CPU runs (:mod:`cpu_malloc`)."""
        super().setup_env(env_cfg)
        # before the first batch; the logger does not exist yet: the summary reports it
        on_cpu = not torch.cuda.is_available()
        self._malloc_note = apply_cpu_malloc(env_cfg.get('cpu_malloc'), on_cpu=on_cpu)
        self._allocator_note = allocator_note(on_cpu)  # tools/train.py --malloc

    def build_logger(self, log_level='INFO', log_file=None, **kwargs) -> MMLogger:
        """mmengine's logger, with :class:`ConsoleLogFilter` on its console handlers."""
        logger = super().build_logger(log_level=log_level, log_file=log_file, **kwargs)
        attach_console_filter(logger, ConsoleLogFilter())
        return logger

    def startup_summary(self) -> str:
        """A few lines: versions and devices, config, model, data, schedule, evaluation."""
        from wsol_mm import __version__
        cfg = self.cfg
        model = self.model.module if hasattr(self.model, 'module') else self.model
        params = sum(p.numel() for p in model.parameters()) / 1e6
        parts = [f'{name} {type(getattr(model, name)).__name__}'
                 for name in ('backbone', 'neck', 'head') if getattr(model, name, None)]
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'
        lines: List[str] = [
            f'wsol_mm {__version__}, torch {torch.__version__} on {device}, '
            f'{self.world_size} process(es), launcher {self.launcher}, seed {self.seed}',
            f'config     {cfg.filename}',
            f'model      {type(model).__name__} ({", ".join(parts)}), {params:.2f} M params',
        ]
        for split in ('train', 'val', 'test'):
            loader = cfg.get(f'{split}_dataloader')
            if loader:
                ds = loader.get('dataset', {})
                lines.append(f'{split:<10} {ds.get("type", "?")} split={ds.get("split", "-")} '
                             f'batch {loader.get("batch_size")} x {self.world_size}')
        train_cfg = cfg.get('train_cfg') or {}
        optim = (cfg.get('optim_wrapper') or {}).get('optimizer', {})
        if train_cfg:
            lines.append(f'schedule   {train_cfg.get("max_epochs", train_cfg.get("max_iters"))} '
                         f'{"epochs" if "max_epochs" in train_cfg else "iters"}, '
                         f'{optim.get("type", "?")} lr {optim.get("lr", "?")}')
        evaluator = cfg.get('test_evaluator') or cfg.get('val_evaluator')
        if evaluator:
            lines.append(f'metrics    {_type_names(evaluator)}')
        if self._allocator_note:
            lines.append(f'allocator  {self._allocator_note}')
        if self._malloc_note:
            lines.append(f'memory     {self._malloc_note} (env_cfg.cpu_malloc)')
        lines.append(f'work dir   {self.work_dir}')
        lines.append('full config, environment and hook order: '
                     f'{osp.join(self.log_dir, self.timestamp + ".log")}')
        return 'start-up summary\n    ' + '\n    '.join(lines)
