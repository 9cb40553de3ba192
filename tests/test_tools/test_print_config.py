"""print_config.py prints the merged config and can save it."""
from mmengine.config import Config

from tests.test_tools.vis_tool_utils import run_inprocess, tool_error


def test_print_config_merges_overrides_and_saves(tmp_path, monkeypatch, capsys):
    saved = str(tmp_path / 'merged.py')
    run_inprocess(['tools/misc/print_config.py', 'configs/cam/resnet18_synthetic.py',
                   '--cfg-options', 'train_cfg.max_epochs=3', '--save-path', saved], monkeypatch)
    out = capsys.readouterr().out
    assert "type='CAMLocalizer'" in out and 'max_epochs=3' in out
    assert Config.fromfile(saved).train_cfg.max_epochs == 3


def test_missing_config_is_one_message(tmp_path, monkeypatch):
    message = tool_error(['tools/misc/print_config.py', str(tmp_path / 'nope.py')], monkeypatch)
    assert message.startswith('print_config.py:') and 'nope.py' in message
