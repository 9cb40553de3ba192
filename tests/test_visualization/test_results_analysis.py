"""Per-image IoU, best threshold and size-bin split agree with the metrics."""
import numpy as np

from tests.test_tools.vis_tool_utils import ratio_percent, shifted_box_records, write_config
from wsol_mm.apis import per_image_localization, split_by_size
from wsol_mm.evaluation.functional import SIZE_BINS
from wsol_mm.evaluation.metrics import MaxBoxAccV2Metric


def test_per_image_iou_matches_maxboxaccv2_and_bins_match_sizes(tiny_synthetic, tmp_path):
    records = shifted_box_records(write_config(str(tmp_path / 'cfg.py'), tiny_synthetic))
    analysis = per_image_localization(records, 'best', iou_thr=50)
    metric = MaxBoxAccV2Metric(iou_thrs=(50, ))
    metric.process([], records)
    expected = metric.compute_metrics(metric.results)
    assert analysis['cam_thr'] == expected['best_thr_iou50']
    rows = analysis['rows']
    assert 100.0 * np.mean([r['loc_correct'] for r in rows]) == expected['iou50']
    # unshifted maps localise, half-shifted ones (IoU about 1/3) do not
    assert all(r['iou'] > 0.8 for r in rows[0::4]) and all(r['iou'] < 0.5 for r in rows[2::4])
    for r, rec in zip(rows, records):  # one GT box per synthetic image
        ratio = ratio_percent(rec['ori_gt_bboxes'][0], rec['ori_shape'])
        assert np.isclose(r['size_percent'], ratio)
        assert SIZE_BINS[r['size_bin']] <= ratio < SIZE_BINS[r['size_bin'] + 1] or ratio == 100
    assert [r['cls_correct'] for r in rows[:3]] == [False, True, True]


def test_split_by_size_ranks_and_never_repeats_an_image():
    rows = [dict(index=i, iou=iou, size_bin=b, loc_correct=iou >= 0.5)
            for i, (iou, b) in enumerate([(0.9, 0), (0.1, 0), (0.5, 0), (0.7, 2), (0.2, 0)])]
    bins = split_by_size(rows, num_bins=3, topk=2)
    assert [b['count'] for b in bins] == [4, 0, 1]
    assert [r['index'] for r in bins[0]['best']] == [0, 2]
    assert [r['index'] for r in bins[0]['worst']] == [1, 4]  # lowest first
    assert bins[0]['accuracy'] == 50.0 and bins[1]['accuracy'] is None
    assert [r['index'] for r in bins[2]['best']] == [3] and bins[2]['worst'] == []
