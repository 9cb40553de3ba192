"""browse_dataset.py: one panel per pipeline step, boxes and masks moved with the pixels."""
import glob

from tests.test_tools.vis_tool_utils import (
    build_test_dataset,
    png_size,
    run_inprocess,
    write_config,
)


def test_every_step_is_drawn_with_boxes_and_masks(tiny_synthetic, tmp_path, monkeypatch):
    from wsol_mm.visualization.pipeline_browser import pipeline_steps
    cfg = write_config(str(tmp_path / 'cfg.py'), tiny_synthetic)
    out = str(tmp_path / 'browse')
    run_inprocess(['tools/visualization/browse_dataset.py', cfg, '-o', out, '-n', '3',
                   '--phase', 'train', '--cfg-options', 'train_dataloader.dataset.ann_kind=mask'],
                  monkeypatch)
    files = sorted(glob.glob(out + '/*.png'))
    assert len(files) == 3 and files[0].endswith('00000_train_c0_disc_train_00000.png')
    # 5 steps (load, annotations, RandomResizedCrop, RandomFlip, pack) in one row of panels
    assert png_size(files[0]) == (460, 1730)
    steps = pipeline_steps(build_test_dataset(cfg), 0)  # test pipeline: boxes and resize
    assert [name for name, _ in steps] == ['LoadImageFromFile', 'LoadWSOLAnnotations', 'Resize',
                                           'PackWSOLInputs']
    (_, loaded), (_, resized), (_, packed) = [s for s in steps[1:]]
    assert loaded['image'].shape[:2] == (64, 64) and resized['image'].shape[:2] == (112, 112)
    assert (packed['boxes'] == resized['boxes']).all()
    assert abs(resized['boxes'][0, 2] - loaded['boxes'][0, 2] * 112 / 64) <= 1


def test_transformed_mode_draws_only_the_model_input(tiny_synthetic, tmp_path, monkeypatch):
    cfg = write_config(str(tmp_path / 'cfg.py'), tiny_synthetic)
    out = str(tmp_path / 'browse')
    run_inprocess(['tools/visualization/browse_dataset.py', cfg, '-o', out, '-n', '1',
                   '--phase', 'test', '--mode', 'transformed'], monkeypatch)
    assert png_size(glob.glob(out + '/*.png')[0]) == (460, 370)


def test_masks_follow_every_step(tiny_synthetic, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from wsol_mm.registry import DATASETS
    from wsol_mm.visualization.pipeline_browser import pipeline_steps
    cfg = Config.fromfile(write_config(str(tmp_path / 'cfg.py'), tiny_synthetic))
    with DefaultScope.overwrite_default_scope('wsol_mm'):
        dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, ann_kind='mask'))
    steps = pipeline_steps(dataset, 0)[1:]
    for name, snap in steps:
        assert snap['masks']['gt_mask'].shape == snap['image'].shape[:2], name
    area = [snap['masks']['gt_mask'].astype(bool).mean() for _, snap in steps]
    assert abs(area[0] - area[-1]) < 0.02  # a resize keeps the object's share of the image
