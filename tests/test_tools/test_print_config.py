"""print_config.py prints the merged config and can save it."""
from mmengine.config import Config

from tests.test_tools.vis_tool_utils import run_tool


def test_print_config_merges_overrides_and_saves(tmp_path):
    saved = str(tmp_path / 'merged.py')
    proc = run_tool(['tools/misc/print_config.py', 'configs/cam/resnet18_synthetic.py',
                     '--cfg-options', 'train_cfg.max_epochs=3', '--save-path', saved])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "type='CAMLocalizer'" in proc.stdout and 'max_epochs=3' in proc.stdout
    assert Config.fromfile(saved).train_cfg.max_epochs == 3


def test_missing_config_is_one_message(tmp_path):
    proc = run_tool(['tools/misc/print_config.py', str(tmp_path / 'nope.py')])
    assert proc.returncode != 0 and 'Traceback' not in proc.stderr
    assert proc.stderr.startswith('print_config.py:')
