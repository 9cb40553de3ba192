"""Every tool that reads a config checks --cfg-options like train.py / test.py and, where it
reads data, takes --data-root."""
import pytest

from tests.test_tools.vis_tool_utils import run_inprocess, tool_error

CONFIG = 'configs/cam/resnet18_synthetic.py'
# the positional arguments after the config never get read: the options fail first
TOOLS = {
    'tools/misc/print_config.py': [CONFIG],
    'tools/visualization/browse_dataset.py': [CONFIG, '--output-dir', 'unused'],
    'tools/visualization/vis_cam.py': ['no_image.png', CONFIG, 'no.pth', '--out', 'x.png'],
    'tools/analysis_tools/analyze_results.py': [CONFIG, 'no.pkl', '--out-dir', 'unused'],
    'tools/analysis_tools/get_flops.py': [CONFIG],
}


@pytest.mark.parametrize('tool', sorted(TOOLS))
def test_cfg_options_typo_is_one_message_with_the_valid_keys(tool, monkeypatch, tmp_path):
    args = [a if a == CONFIG or a.startswith('--') else str(tmp_path / a) for a in TOOLS[tool]]
    if tool.endswith('vis_cam.py'):  # it reads the image first: give it one
        import cv2
        import numpy as np
        cv2.imwrite(args[0], np.zeros((8, 8, 3), np.uint8))
    message = tool_error([tool] + args + ['--cfg-options', 'model.head.num_clases=3'],
                         monkeypatch)
    name = tool.rsplit('/', 1)[1]
    assert message.startswith(f'{name}: error: --cfg-options model.head.num_clases'), message
    assert "did you mean 'num_classes'" in message


def test_data_root_reaches_every_dataloader(tmp_path, monkeypatch):
    from mmengine.config import Config
    saved, root = str(tmp_path / 'merged.py'), str(tmp_path / 'mine')
    run_inprocess(['tools/misc/print_config.py', CONFIG, '--data-root', root,
                   '--save-path', saved], monkeypatch)
    cfg = Config.fromfile(saved)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root == root, loader


def test_init_localizer_checks_its_cfg_options():
    from wsol_mm.apis import init_localizer
    from wsol_mm.apis.cfg_options import ConfigOptionError
    with pytest.raises(ConfigOptionError, match='num_classes'):
        init_localizer(CONFIG, None, cfg_options={'model.head.num_clases': 3})
