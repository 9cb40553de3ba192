"""CAM figures: original-image frame, readable size, legend, class names, top-k row."""
import numpy as np
import torch

from wsol_mm.structures import WSOLDataSample
from wsol_mm.visualization import PredictionView, WSOLVisualizer


def _sample(topk: int = 0) -> WSOLDataSample:
    """A 2x-downscaled prediction (network 50 x 80) of a 100 x 160 image."""
    s = WSOLDataSample(metainfo=dict(ori_shape=(100, 160), img_shape=(50, 80),
                                     scale_factor=(0.5, 0.5), img_id='img_7.jpg',
                                     ori_gt_bboxes=np.array([[40., 20., 99., 59.]])))
    cam = torch.zeros(50, 80)
    cam[10:30, 20:50] = 1.0
    s.pred_cam = cam
    # wsolevaluation's contour box is (x, y, x + w, y + h): one pixel past the region
    s.gt_bboxes = torch.tensor([[20., 10., 50., 30.]])
    s.set_gt_label(1).set_pred_label(2).set_pred_score(torch.tensor([0.1, 0.3, 0.6]))
    if topk:
        s.pred_cams = cam[None].repeat(topk, 1, 1)
        s.pred_cam_labels = torch.tensor([2, 1, 0][:topk])
    return s


def test_view_is_in_original_pixels_and_scores_the_evaluated_box():
    view = PredictionView.from_sample(_sample(), cam_thr=0.5)
    assert view.cam.shape == (100, 160)
    assert view.pred_boxes.tolist() == [[40, 20, 101, 61]]  # pixels 20..50 -> 40..101
    assert view.iou == 1.0
    assert view.gt_boxes.tolist() == [[40, 20, 99, 59]]
    assert view.cam_label == 1 and view.score(2) == np.float32(0.6)


def test_figure_has_three_panels_legend_colour_bar_and_names():
    vis = WSOLVisualizer(name='test_figure')
    vis.dataset_meta = dict(classes=('cat', 'dog', 'bird'))
    image = np.full((100, 160, 3), 128, np.uint8)
    fig = vis.prediction_figure(image, _sample(), cam_thr=0.5, img_name='img_7.jpg')
    axes = fig.axes
    assert len(axes) == 4  # image, CAM, overlay + the colour bar
    legend = [t.get_text() for t in axes[2].get_legend().get_texts()]
    assert legend == ['ground truth', 'CAM > 0.5 (prediction)']
    assert axes[1].get_title() == 'CAM of dog (1), p=0.30'
    title = fig._suptitle.get_text()
    assert 'GT: dog (1), p=0.30' in title and 'top-1: bird (2), p=0.60' in title
    assert 'IoU 1.00' in axes[2].get_title()
    rgb = vis.draw_prediction(image, _sample(), cam_thr=0.5)
    assert rgb.dtype == np.uint8 and rgb.shape[1] >= 1200 and rgb.shape[0] >= 500


def test_topk_row_draws_one_map_per_class():
    vis = WSOLVisualizer(name='test_topk')
    vis.dataset_meta = dict(classes=('cat', 'dog', 'bird'))
    fig = vis.prediction_figure(np.zeros((100, 160, 3), np.uint8), _sample(topk=3), topk=3)
    titles = [ax.get_title() for ax in fig.axes[4:]]
    assert titles == ['top-1: bird (2), p=0.60', 'top-2: dog (1), p=0.30',
                      'top-3: cat (0), p=0.10']


def test_records_with_uint8_maps_draw_like_samples():
    sample = _sample()
    record = dict(sample.metainfo, pred_cam=(sample.pred_cam.numpy() * 255).astype(np.uint8),
                  gt_bboxes=sample.gt_bboxes.numpy(), gt_label=1, pred_label=2)
    view = PredictionView.from_sample(record, cam_thr=0.5)
    assert view.pred_boxes.tolist() == [[40, 20, 101, 61]] and view.iou == 1.0
