"""A progress bar over the val/test loops that never shares a line with a log message."""
import sys
from typing import IO, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook, LoggerHook
from mmengine.utils import ProgressBar

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show how far evaluation is on an interactive terminal; it only observes the loop.

    The bar is redrawn in place (``\\r``); it ends its line before every
    ``LoggerHook`` iteration message and at the last iteration, so log lines
    always start on a line of their own. When the output is not a terminal
    (a log file, a batch job) no bar is drawn: ``LoggerHook``'s
    ``Epoch(val) [i/N]`` lines already report progress there.

    Args:
        enable (bool): draw the bar. Defaults to True.
        file (IO, optional): the stream. Defaults to ``sys.stdout``.
        tty (bool, optional): force (True) or suppress (False) the bar whatever
            the stream is; detected from the stream when None. Defaults to None.
    """

    # before LoggerHook (BELOW_NORMAL) in after_*_iter: the bar closes its line first
    priority = 'NORMAL'

    def __init__(self, enable: bool = True, file: Optional[IO] = None,
                 tty: Optional[bool] = None) -> None:
        self.enable = enable
        self.file = file
        self.tty = tty
        self._bar: Optional[ProgressBar] = None
        self._log_interval = 0

    def _start(self, runner, dataloader) -> None:
        stream = self.file or sys.stdout
        tty = self.tty if self.tty is not None else bool(getattr(stream, 'isatty', bool)())
        if not (self.enable and tty and is_main_process()):
            return
        hooks = getattr(runner, 'hooks', [])
        self._log_interval = next((h.interval for h in hooks if isinstance(h, LoggerHook)), 0)
        self._bar = ProgressBar(len(dataloader), file=stream)

    def _step(self, batch_idx: int) -> None:
        if self._bar is None:
            return
        self._bar.update()
        last = self._bar.completed >= self._bar.task_num
        logs_now = self._log_interval > 0 and (batch_idx + 1) % self._log_interval == 0
        if last or logs_now:
            self._bar.file.write('\n')
            self._bar.file.flush()
        if last:
            self._bar = None

    def _finish(self) -> None:
        if self._bar is not None:  # fewer iterations than announced
            self._bar.file.write('\n')
            self._bar.file.flush()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner, runner.val_dataloader)

    def before_test_epoch(self, runner) -> None:
        self._start(runner, runner.test_dataloader)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step(batch_idx)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step(batch_idx)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
