"""WSOLRunner: a short console start-up, the full record in the log file; tables once."""
import glob
import os.path as osp

from mmengine.config import Config

from tests.test_tools.vis_tool_utils import write_config


def test_console_gets_summary_and_log_file_keeps_everything(tiny_synthetic, tmp_path, capsys):
    from wsol_mm.apis.runner_utils import build_runner
    cfg = Config.fromfile(write_config(str(tmp_path / 'cfg.py'), tiny_synthetic))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer.name = f'vis_{tmp_path.name}'
    runner = build_runner(cfg)
    # an optimizer with paramwise_cfg logs one line per norm/bias parameter
    runner.build_optim_wrapper(dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=1e-4),
                                    paramwise_cfg=dict(norm_decay_mult=0.0)))
    console = capsys.readouterr().out
    assert type(runner).__name__ == 'WSOLRunner'
    assert 'start-up summary' in console and 'CAMLocalizer' in console
    assert 'SyntheticWSOLDataset split=test' in console
    for block in ('Config:', 'System environment', 'Hooks will be executed', 'paramwise_options'):
        assert block not in console
    assert len(console.splitlines()) < 25
    log = open(glob.glob(osp.join(cfg.work_dir, '*', '*.log'))[0]).read()
    for block in ('Config:', 'System environment', 'Hooks will be executed', 'paramwise_options',
                  'start-up summary'):
        assert block in log
    assert osp.isfile(osp.join(cfg.work_dir, 'cfg.py'))  # the full config stays in the work dir


def test_metrics_table_printed_by_rank_zero_only(monkeypatch, capsys):
    from wsol_mm.apis import runner_utils
    runner_utils.print_metrics({'cls/top1': 50.0}, title='t')
    assert 'cls/top1' in capsys.readouterr().out
    monkeypatch.setattr(runner_utils, 'is_main_process', lambda: False)
    runner_utils.print_metrics({'cls/top1': 50.0}, title='t')
    assert capsys.readouterr().out == ''
