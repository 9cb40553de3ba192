"""CAMVisualizationHook: which images it draws, where, and that it says so."""
import glob
import logging
import os.path as osp
from types import SimpleNamespace

import mmcv
import numpy as np
import pytest
import torch

from wsol_mm.engine.hooks import CAMVisualizationHook
from wsol_mm.structures import WSOLDataSample
from wsol_mm.visualization import WSOLVisualizer


def _outputs(tmp_path, n: int) -> list:
    samples = []
    for i in range(n):
        path = str(tmp_path / f'im{i}.png')
        mmcv.imwrite(np.full((30, 40, 3), 20 * i, np.uint8), path)
        s = WSOLDataSample(metainfo=dict(img_path=path, img_id=f'dir/im{i}.png', sample_idx=i,
                                         ori_shape=(30, 40), img_shape=(16, 16)))
        s.pred_cam = torch.rand(16, 16)
        s.set_pred_score(torch.tensor([0.4, 0.6])).set_pred_label(1)
        samples.append(s)
    return samples


def _runner(tmp_path, n: int, messages: list) -> SimpleNamespace:
    logger = logging.getLogger('test_cam_visualization_hook')
    logger.info = messages.append
    dataset = type('Dataset', (), {'__len__': lambda self: n,
                                   'metainfo': dict(classes=('a', 'b'))})()
    loader = SimpleNamespace(dataset=dataset)
    return SimpleNamespace(log_dir=str(tmp_path / 'log'), logger=logger, test_dataloader=loader,
                           val_dataloader=loader, epoch=3, iter=0)


@pytest.mark.parametrize('interval,max_images,expected', [
    (1, None, [0, 1, 2, 3, 4, 5, 6]), (3, None, [0, 3, 6]), (2, 2, [0, 2]), (1, 0, [])])
def test_selection_by_dataset_index_with_logged_cap(tmp_path, interval, max_images, expected):
    WSOLVisualizer.get_instance('test_hook_vis')
    hook = CAMVisualizationHook(enable=True, interval=interval, max_images=max_images,
                                out_dir='vis')
    messages = []
    runner = _runner(tmp_path, 7, messages)
    hook.before_test(runner)
    outputs = _outputs(tmp_path, 7)
    # batches in a shuffled order (as different ranks see them): choice follows sample_idx
    for batch in (outputs[4:], outputs[:4]):
        hook.after_test_iter(runner, 0, outputs=batch)
    files = sorted(glob.glob(str(tmp_path / 'log' / 'vis' / '*.png')))
    assert [int(osp.basename(f)[6:-4]) for f in files] == expected
    cap = 'no cap' if max_images is None else f'max_images={max_images}'
    assert messages == [f'CAMVisualizationHook: drawing {len(expected)} of 7 test images '
                        f'(every {interval}, {cap}; test.py --interval / --show-max) to '
                        f'{tmp_path / "log" / "vis"}']
    if files:
        assert mmcv.imread(files[0]).shape[1] >= 1200


def test_validation_figures_go_to_one_folder_per_epoch(tmp_path):
    WSOLVisualizer.get_instance('test_hook_vis_val')
    hook = CAMVisualizationHook(enable=True, max_images=1, out_dir='vis')
    runner = _runner(tmp_path, 2, [])
    hook.before_val(runner)
    hook.after_val_iter(runner, 0, outputs=_outputs(tmp_path, 2))
    assert len(glob.glob(str(tmp_path / 'log' / 'vis' / 'epoch_3' / '*.png'))) == 1


def test_disabled_hook_draws_nothing_and_bad_options_fail(tmp_path):
    hook = CAMVisualizationHook(enable=False, out_dir='vis')
    runner = _runner(tmp_path, 2, [])
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, outputs=_outputs(tmp_path, 2))
    assert not osp.exists(str(tmp_path / 'log'))
    with pytest.raises(ValueError, match='interval'):
        CAMVisualizationHook(interval=0)
