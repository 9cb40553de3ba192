"""Scorers (torch-free metric bodies): one implementation, size-bin rules and counts, curves."""
import numpy as np
import pytest

from wsol_mm.evaluation import metrics as M
from wsol_mm.evaluation.scorers import (
    SCORERS,
    FixedThresholdLocScorer,
    MaxBoxAccV2Scorer,
    PxAPScorer,
    ThresholdSweepLocScorer,
)


def test_registered_metrics_run_the_scorer_code():
    for name, scorer in SCORERS.items():
        metric = getattr(M, name)
        assert issubclass(metric, scorer)
        for method in ('process', 'compute_metrics', 'curves'):
            assert getattr(metric, method) is getattr(scorer, method), (name, method)
        assert metric().default_prefix == scorer.default_prefix == metric().prefix


def _switching_sample():
    """One image, two GT boxes: a 2.25 % box (bin 1-4) and a 90.25 % box (bin 81-100).

    Below CAM threshold 0.3 the whole map is foreground (box = the large GT: IoU 1),
    above it only the small square (box one pixel too large: IoU 16/25), so the
    image changes bin with the threshold.
    """
    cam = np.full((20, 20), 0.3)
    cam[4:8, 4:8] = 1.0
    gts = np.array([[4., 4., 7., 7.], [0., 0., 19., 19.]])
    return dict(pred_cam=cam, gt_bboxes=gts, ori_gt_bboxes=gts * 10, ori_shape=(200, 200))


def _run(scorer, samples):
    scorer.process(None, samples)
    return scorer.compute_metrics(scorer.results)


def test_size_bin_rules_chosen_vs_released():
    chosen = _run(MaxBoxAccV2Scorer(cam_curve_interval=0.01, size_bins=True),
                  [_switching_sample()])
    # every IoU threshold is best at tau = 0 (IoU 1 with the large box): bin 81-100
    assert chosen['size_81-100'] == 100.0 and chosen['count_size_81-100'] == 1
    assert chosen['size_1-4'] == 0.0 and chosen['count_size_1-4'] == 0  # empty there
    assert chosen['large'] == 100.0 and chosen['count_small'] == 0
    assert chosen['size_mean'] == 100.0
    released = _run(MaxBoxAccV2Scorer(cam_curve_interval=0.01, size_bins=True,
                                      size_bin_rule='released'), [_switching_sample()])
    # Small Object Matters' evaluation.py: both bins are empty at some threshold -> 0
    assert released['size_81-100'] == 0.0 and released['count_size_81-100'] == 0
    assert released['size_1-4'] == 0.0 and released['count_size_1-4'] == 0
    assert released['size_mean'] == 0.0  # no bin is scored
    assert released['mean'] == chosen['mean'] == 100.0  # the overall metric is unchanged
    with pytest.raises(ValueError, match='size_bin_rule must be one of'):
        MaxBoxAccV2Scorer(size_bin_rule='any')


def test_empty_bin_is_distinguishable_from_zero():
    miss = dict(_switching_sample(), pred_cam=np.zeros((20, 20)))  # box (0,0,0,0) never hits
    res = _run(MaxBoxAccV2Scorer(cam_curve_interval=0.01, size_bins=True), [miss])
    assert res['size_81-100'] == 0.0 and res['count_size_81-100'] == 1  # scored 0
    assert res['size_1-4'] == 0.0 and res['count_size_1-4'] == 0  # empty
    assert res['size_mean'] == 0.0


def test_pxap_size_counts():
    gt = np.zeros((20, 20), bool)
    gt[2:8, 2:8] = True  # 9 % -> bin 9-16
    samples = [dict(pred_cam=gt * 1.0, gt_mask=gt), dict(pred_cam=np.full((20, 20), .5),
                                                        gt_mask=gt)]
    res = _run(PxAPScorer(size_bins=True), samples)
    assert res['count_size_9-16'] == 2 and res['size_9-16'] == res['pxap']
    assert res['count_medium'] == 2 and res['count_small'] == 0 and res['small'] == 0.0
    assert res['size_mean'] == res['pxap']


def _loc_sample(label=1, pred=1):
    s = _switching_sample()
    score = np.full(6, 0.01)
    score[pred] = 0.9
    cams = np.stack([s['pred_cam'], np.zeros((20, 20))])
    return dict(s, gt_label=np.array([label]), pred_score=score, pred_cams=cams,
                pred_cam_labels=np.array([pred, 0]))


def test_sweep_and_fixed_size_bins_and_curves():
    sweep = ThresholdSweepLocScorer(size_bins=True)
    res = _run(sweep, [_loc_sample()])
    assert res['gt_known'] == 100.0 and res['best_thr_gt_known'] == 0.0
    assert res['size_81-100'] == 100.0 and res['count_size_81-100'] == 1
    curves = sweep.curves(sweep.results)
    assert set(curves) == {'gt_known', 'top1_loc', 'top5_loc', 'gt_known_top5'}
    assert len(curves['gt_known']) == 100 and curves['gt_known'][0] == 100.0
    fixed = FixedThresholdLocScorer(cam_thr=0.5, size_bins=True, curve_interval=0.01)
    res = _run(fixed, [_loc_sample(label=1, pred=2)])
    # at 0.5 only the small square: IoU 0.64 with the small box (bin 1-4), wrong class
    assert res == {**res, 'gt_known': 100.0, 'top1': 0.0, 'top5': 100.0,
                   'size_1-4': 100.0, 'count_size_1-4': 1, 'count_size_81-100': 0}
    curves = fixed.curves(fixed.results)
    assert curves['gt_known'][50] == res['gt_known'] and curves['top5'][50] == res['top5']
    assert curves['gt_known'][0] == 100.0  # tau = 0: the whole map, IoU 1 with the large box


def test_fixed_curves_follow_tscam_conventions():
    """Curves of the fixed protocol: unclipped boxes, [0, 0, 1, 1] when empty."""
    cam = np.zeros((10, 10))
    cam[9, 9] = 1.0  # corner pixel: box (9, 9, 10, 10) unclipped, (9, 9, 9, 9) clipped
    sample = dict(pred_cam=cam, gt_bboxes=np.array([[9., 9., 10., 10.]]),
                  pred_score=np.array([.9, .1]), gt_label=np.array([0]))
    fixed = FixedThresholdLocScorer(cam_thr=0.5, curve_interval=0.1)
    res = _run(fixed, [sample])
    assert res['top1'] == 100.0  # IoU 1 without clipping (1/4 with it)
    assert fixed.curves(fixed.results)['top1'][5] == 100.0
    empty = dict(sample, pred_cam=np.zeros((10, 10)), gt_bboxes=np.array([[0., 0., 1., 1.]]))
    fixed = FixedThresholdLocScorer(cam_thr=0.5, curve_interval=0.1)
    assert _run(fixed, [empty])['gt_known'] == 100.0
    assert fixed.curves(fixed.results)['gt_known'] == [100.0] * 10
