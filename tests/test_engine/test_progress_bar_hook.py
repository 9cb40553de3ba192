"""The evaluation progress bar counts iterations and never shares a line with a log line."""
import io
from types import SimpleNamespace

from mmengine.hooks import LoggerHook

from wsol_mm.engine.hooks import ProgressBarHook


def _run(hook: ProgressBarHook, n: int, log_interval: int, stream: io.StringIO) -> list:
    """Simulate a test loop whose LoggerHook writes to the same stream after the bar."""
    logger = LoggerHook(interval=log_interval)
    runner = SimpleNamespace(test_dataloader=list(range(n)), hooks=[hook, logger])
    hook.before_test_epoch(runner)
    for i in range(n):
        hook.after_test_iter(runner, i)  # priority NORMAL: before LoggerHook
        if (i + 1) % log_interval == 0:
            stream.write(f'LOG Epoch(test) [{i + 1}/{n}]\n')
    hook.after_test_epoch(runner)
    stream.write('LOG metrics\n')
    return stream.getvalue().split('\n')


def test_bar_counts_and_log_lines_start_on_their_own_line():
    stream = io.StringIO()
    lines = _run(ProgressBarHook(file=stream, tty=True), n=7, log_interval=3, stream=stream)
    logs = [line for line in lines if 'LOG' in line]
    assert logs == ['LOG Epoch(test) [3/7]', 'LOG Epoch(test) [6/7]', 'LOG metrics']
    assert '7/7' in stream.getvalue()
    assert ProgressBarHook.priority == 'NORMAL'  # must run before LoggerHook (BELOW_NORMAL)


def test_no_bar_when_output_is_not_a_terminal():
    stream = io.StringIO()  # StringIO.isatty() is False, like a log file
    lines = _run(ProgressBarHook(file=stream), n=4, log_interval=2, stream=stream)
    assert lines == ['LOG Epoch(test) [2/4]', 'LOG Epoch(test) [4/4]', 'LOG metrics', '']


def test_disabled_bar_draws_nothing():
    stream = io.StringIO()
    hook = ProgressBarHook(enable=False, file=stream, tty=True)
    hook.before_val_epoch(SimpleNamespace(val_dataloader=[0], hooks=[]))
    hook.after_val_iter(None, 0)
    assert hook._bar is None and stream.getvalue() == ''
