"""The evaluation progress bar counts every iteration and closes its line."""
import io
from types import SimpleNamespace

from wsol_mm.engine.hooks import ProgressBarHook


def test_progress_bar_counts_iterations(capsys):
    hook = ProgressBarHook()
    runner = SimpleNamespace(test_dataloader=[0, 1, 2])
    hook.before_test_epoch(runner)
    hook._bar.file = io.StringIO()
    for i in range(3):
        hook.after_test_iter(runner, i)
    assert hook._bar.completed == 3
    out = hook._bar.file
    hook.after_test_epoch(runner)
    assert hook._bar is None and out.getvalue().endswith('\n')
    assert '3/3' in out.getvalue()


def test_disabled_bar_draws_nothing():
    hook = ProgressBarHook(enable=False)
    hook.before_val_epoch(SimpleNamespace(val_dataloader=[0]))
    hook.after_val_iter(None, 0)
    assert hook._bar is None
