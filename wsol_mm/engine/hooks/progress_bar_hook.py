"""A progress bar over the val/test loops (rank 0 only)."""
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Show how far evaluation is; it only observes the loop.

    Args:
        enable (bool): draw the bar. Defaults to True.
    """

    priority = 'VERY_LOW'

    def __init__(self, enable: bool = True) -> None:
        self.enable = enable
        self._bar: Optional[ProgressBar] = None

    def _start(self, dataloader) -> None:
        if self.enable and is_main_process():
            self._bar = ProgressBar(len(dataloader))

    def _step(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.file.write('\n')
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._start(runner.val_dataloader)

    def before_test_epoch(self, runner) -> None:
        self._start(runner.test_dataloader)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._finish()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._finish()
