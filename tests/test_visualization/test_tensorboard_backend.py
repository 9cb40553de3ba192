"""TensorBoard as an optional backend: scalars and CAM figures land in event files."""
import glob

import numpy as np
import pytest
import torch

pytest.importorskip('tensorboard')


def test_tensorboard_backend_receives_scalars_and_cam_figures(tmp_path):
    from wsol_mm.structures import WSOLDataSample
    from wsol_mm.visualization import WSOLVisualizer
    vis = WSOLVisualizer.get_instance(
        'test_tensorboard', save_dir=str(tmp_path),
        vis_backends=[dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')])
    vis.add_scalars({'maxboxaccv2/mean': 42.0}, step=1)
    s = WSOLDataSample(metainfo=dict(ori_shape=(20, 30), img_shape=(16, 16)))
    s.pred_cam = torch.rand(16, 16)
    vis.add_datasample('test_img', np.zeros((20, 30, 3), np.uint8), s, step=1)
    vis.close()
    events = glob.glob(str(tmp_path / 'vis_data' / 'events.out.tfevents.*'))
    assert events
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(events[0], size_guidance={'images': 0, 'scalars': 0}).Reload()
    assert acc.Scalars('maxboxaccv2/mean')[0].value == 42.0
    image = acc.Images('test_img')[0]
    assert image.width >= 1200 and image.height >= 500
