"""Metric classes through process / compute_metrics with dict samples."""
import numpy as np
import pytest
import torch

from wsol_mm.evaluation.functional import pixel_histograms, threshold_list
from wsol_mm.evaluation.metrics import (
    ClsAccuracyMetric,
    FixedThresholdLocMetric,
    MaxBoxAccMetric,
    MaxBoxAccV2Metric,
    PxAPMetric,
    ThresholdSweepLocMetric,
)
from wsol_mm.registry import METRICS


def _square(h=20, w=20, box=(4, 4, 9, 9), value=1.0):
    cam = torch.zeros(h, w)
    cam[box[1]:box[3] + 1, box[0]:box[2] + 1] = value
    return cam


def _sample(gt=(4., 4., 9., 9.), label=1, pred=1, **kw):
    score = torch.full((10, ), 0.01)
    score[pred] = 0.9
    s = dict(pred_cam=_square(), gt_bboxes=torch.tensor([gt]), gt_label=torch.tensor([label]),
             pred_score=score, ori_gt_bboxes=np.array([gt]) * 10, ori_shape=(200, 200))
    s.update(kw)
    return s


def _run(metric, samples):
    metric.process([], samples)
    return metric.compute_metrics(metric.results)


def test_registry_and_prefixes():
    for name, prefix in [('ClsAccuracyMetric', 'cls'), ('MaxBoxAccMetric', 'maxboxacc'),
                         ('MaxBoxAccV2Metric', 'maxboxaccv2'), ('PxAPMetric', 'pxap'),
                         ('FixedThresholdLocMetric', 'loc'), ('ThresholdSweepLocMetric', 'sweep')]:
        assert METRICS.build(dict(type=name)).prefix == prefix


def test_mixin_sets_up_base_metric_and_scorer(monkeypatch):
    import wsol_mm.evaluation.metrics.scorer_metric_mixin as mixin
    started = []
    monkeypatch.setattr(mixin, 'start_kernel_warmup', lambda: started.append(1))
    m = MaxBoxAccV2Metric(iou_thrs=(50, ), cam_curve_interval=0.01, collect_device='gpu',
                          prefix='v2')
    assert (m.prefix, m.collect_device, m.results) == ('v2', 'gpu', [])
    assert list(m.iou_thrs) == [50] and m.cam_curve_interval == 0.01  # the scorer's own
    assert started == [1]  # kernel metrics compile their kernels in the background
    ClsAccuracyMetric(topk=(1, ))
    assert started == [1]  # top-k has no kernels
    with pytest.raises(TypeError):  # a scorer argument that does not exist
        MaxBoxAccMetric(no_such_arg=1)


def test_maxboxacc_keys_and_values():
    # box (4,4,9,9) -> predicted (4,4,10,10): IoU 36/49 -> correct at 30 and 50, not 70
    res = _run(MaxBoxAccV2Metric(cam_curve_interval=0.01), [_sample(), _sample()])
    assert res['iou30'] == res['iou50'] == 100.0 and res['iou70'] == 100.0 * (36 / 49 >= .7)
    assert res['mean'] == pytest.approx(np.mean([res['iou30'], res['iou50'], res['iou70']]))
    v1 = _run(MaxBoxAccMetric(), [_sample(), _sample(gt=(0., 0., 1., 1.))])
    assert set(v1) >= {'iou50', 'best_thr_iou50'} and v1['iou50'] == 50.0


def test_size_bins():
    # ratios: (90*90-ish)/200^2 -> the box (40,40,90,90): 50*50/40000 = 6.25% -> bin 4-9
    samples = [_sample(), _sample(gt=(0., 0., 19., 19.))]  # 190*190/40000 = 90.25% -> 81-100
    res = _run(MaxBoxAccV2Metric(cam_curve_interval=0.01, size_bins=True), samples)
    assert res['size_4-9'] == 100.0 and res['size_81-100'] == 0.0 and res['size_0-1'] == 0.0
    assert res['medium'] == 100.0 and res['large'] == 0.0 and res['small'] == 0.0
    assert res['size_mean'] == 50.0  # mean over the two non-empty bins
    assert len([k for k in res if k.startswith('size_') and '-' in k]) == 10


def test_cls_accuracy():
    res = _run(ClsAccuracyMetric(), [_sample(label=1, pred=1), _sample(label=2, pred=1)])
    assert res == dict(top1=50.0, top5=100.0)


def test_fixed_protocol():
    # IoU exactly 0.5 counts for GT-known (>=) but not for Top-1 Loc (> 0.5)
    cam = torch.zeros(20, 20)
    cam[0:2, 0:3] = 1.0  # box (0, 0, 3, 2): 12 px
    half = _sample(gt=(0., 0., 5., 0.), pred_cam=cam)  # 6 px, inter 4 -> 4 / 14
    exact = _sample(gt=(0., 0., 3., 0.), pred_cam=cam)  # 4 px inside 12 -> 4/12
    res = _run(FixedThresholdLocMetric(cam_thr=0.1), [_sample(), half, exact])
    assert res['gt_known'] == pytest.approx(100 / 3) and res['top1'] == pytest.approx(100 / 3)
    cam2 = torch.zeros(20, 20)
    cam2[0:1, 0:2] = 1.0  # box (0, 0, 2, 1) = 6 px vs GT (0, 0, 2, 0) = 3 px: IoU 0.5
    res = _run(FixedThresholdLocMetric(), [_sample(gt=(0., 0., 2., 0.), pred_cam=cam2)])
    assert res == dict(top1=0.0, top5=0.0, gt_known=100.0)
    empty = _run(FixedThresholdLocMetric(), [_sample(gt=(0., 0., 1., 1.),
                                                     pred_cam=torch.zeros(20, 20))])
    assert empty['gt_known'] == 100.0  # TS-CAM's empty box is [0, 0, 1, 1]


def test_sweep_protocol_uses_predicted_maps():
    good, bad = _square(), _square(box=(15, 15, 19, 19))
    # top-1 predicted class is wrong but its map is right -> gt_known yes, top1_loc no
    s = _sample(label=3, pred=1, pred_cams=torch.stack([good, bad]),
                pred_cam_labels=torch.tensor([1, 3]))
    res = _run(ThresholdSweepLocMetric(), [s])
    assert res['gt_known'] == 100.0 and res['top1_loc'] == 0.0 and res['top5_loc'] == 0.0
    s = _sample(label=3, pred=1, pred_cams=torch.stack([bad, good]),
                pred_cam_labels=torch.tensor([1, 3]))
    res = _run(ThresholdSweepLocMetric(), [s])
    assert res['gt_known'] == 0.0 and res['top5_loc'] == 100.0 and res['gt_known_top5'] == 100.0


def test_pxap_metric_with_size_bins():
    gt = torch.zeros(20, 20, dtype=torch.bool)
    gt[2:8, 2:8] = True
    samples = [dict(pred_cam=gt.float(), gt_mask=gt, ignore_mask=torch.zeros_like(gt)),
               dict(pred_cam=torch.full((20, 20), 0.5), gt_mask=gt)]
    res = _run(PxAPMetric(size_bins=True), samples)
    assert 0 < res['pxap'] < 100 and 0 < res['piou'] <= 100
    assert res['size_9-16'] == res['pxap'] and res['size_mean'] == res['pxap']


def test_pxap_records_of_any_field_type():
    """A PxAP record is the same whatever form the sample's fields take: numpy or
    tensors, bool or 0/1 masks, with or without an ignore mask (the scorer reads
    plain numpy fields without conversion, the others through get_field); a
    missing mask names the field."""
    rng = np.random.default_rng(5)
    cam = rng.random((24, 30)).astype(np.float32)
    gt, ignore = rng.random((24, 30)) < 0.3, rng.random((24, 30)) < 0.2
    forms = [dict(pred_cam=cam, gt_mask=gt),
             dict(pred_cam=torch.from_numpy(cam), gt_mask=gt),
             dict(pred_cam=cam, gt_mask=torch.from_numpy(gt)),
             dict(pred_cam=cam, gt_mask=gt.astype(np.uint8)),
             dict(pred_cam=cam, gt_mask=gt, ignore_mask=ignore),
             dict(pred_cam=cam, gt_mask=gt, ignore_mask=ignore.astype(np.uint8)),
             dict(pred_cam=cam, gt_mask=gt, ignore_mask=torch.from_numpy(ignore))]
    metric = PxAPMetric(cam_curve_interval=0.01)
    metric.process([], forms)
    for form, record in zip(forms, metric.results):
        want = pixel_histograms(cam, gt, ignore if 'ignore_mask' in form else None,
                                threshold_list(0.01), stacked=True, compact=True)
        assert record['hist'].dtype == np.uint16
        assert np.array_equal(record['hist'], want)
    with pytest.raises(KeyError, match='gt_mask missing: use a mask dataset'):
        metric.process([], [dict(pred_cam=cam)])
    with pytest.raises(ValueError, match=r'gt_mask shape \(30, 24\) differs'):
        metric.process([], [dict(pred_cam=cam, gt_mask=gt.T.copy())])


def test_missing_field_message():
    metric = ThresholdSweepLocMetric()
    with pytest.raises(KeyError, match='pred_cams missing: set model.test_cfg.topk_cams=5'):
        metric.process([], [_sample()])
