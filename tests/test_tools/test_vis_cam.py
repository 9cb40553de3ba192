"""vis_cam.py and the inference API: original-image frame, class names, target class, top-k."""
import os.path as osp

import mmcv
import pytest

from tests.test_tools.vis_tool_utils import (
    png_size,
    random_checkpoint,
    run_tool,
    tool_error,
    write_config,
)


@pytest.fixture(scope='module')
def model_files(tiny_synthetic, tmp_path_factory):
    work = tmp_path_factory.mktemp('vis_cam')
    cfg = write_config(str(work / 'cfg.py'), tiny_synthetic)
    return cfg, random_checkpoint(cfg, str(work / 'model.pth'))


def _image(tiny_synthetic: str, tmp_path) -> str:
    """A test image saved at a size the network does not use (150 x 90)."""
    src = osp.join(tiny_synthetic, 'images', 'test', 'c1_square', 'test_00003.png')
    path = str(tmp_path / 'wide.png')
    mmcv.imwrite(mmcv.imresize(mmcv.imread(src), (150, 90)), path)
    return path


def test_inference_returns_original_frame_and_keeps_network_frame(model_files, tiny_synthetic,
                                                                  tmp_path):
    from wsol_mm.apis import inference_localizer, init_localizer
    cfg, ckpt = model_files
    model = init_localizer(cfg, ckpt)
    result = inference_localizer(model, _image(tiny_synthetic, tmp_path), target_class=2)
    assert result['cam'].shape == (90, 150) and result['ori_shape'] == (90, 150)
    assert result['input_cam'].shape == result['img_shape'] == (112, 112)
    assert result['cam_label'] == 2 and result['topk_cams'].shape == (4, 90, 150)
    x0, y0, x1, y1 = result['box']
    assert 0 <= x0 <= x1 <= 149 and 0 <= y0 <= y1 <= 89
    ix0, iy0, ix1, iy1 = result['input_box']  # the same box, scaled by 150/112 and 90/112
    assert abs(x0 - ix0 * 150 / 112) <= 1.5 and abs(y1 + 1 - (iy1 + 1) * 90 / 112) <= 1.5
    assert 0.0 <= result['cam'].min() and result['cam'].max() <= 1.0


def test_vis_cam_draws_named_classes_at_a_readable_size(model_files, tiny_synthetic, tmp_path):
    cfg, ckpt = model_files
    out = str(tmp_path / 'cam.png')
    proc = run_tool(['tools/visualization/vis_cam.py', _image(tiny_synthetic, tmp_path), cfg, ckpt,
                     '--out', out, '--target-class', 'c2_triangle', '--topk', '3',
                     '--gt-box', '10', '10', '60', '50'])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'CAM of c2_triangle (2)' in proc.stdout and '(original pixels' in proc.stdout
    h, w = png_size(out)
    assert w >= 1200 and h >= 800  # three 4.2-inch panels and the top-k row, at 100 dpi


def test_unknown_target_class_is_one_message(model_files, tiny_synthetic, tmp_path,
                                             monkeypatch):
    cfg, ckpt = model_files
    message = tool_error(['tools/visualization/vis_cam.py', _image(tiny_synthetic, tmp_path), cfg,
                          ckpt, '--out', str(tmp_path / 'x.png'), '--target-class', 'zebra'],
                         monkeypatch)
    assert "'zebra' is neither a class name" in message and 'c0_disc' in message
    assert not osp.exists(str(tmp_path / 'x.png'))
