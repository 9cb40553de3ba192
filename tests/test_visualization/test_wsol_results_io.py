"""The compact --out file: small, safe to load, and the box metrics recompute exactly."""
import os
import pickle

import numpy as np
import pytest
import torch

from wsol_mm.evaluation.metrics import DumpWSOLResults, FixedThresholdLocMetric, MaxBoxAccV2Metric
from wsol_mm.utils.wsol_results_io import compact_record, decode_maps, load_wsol_results


def _samples(n: int = 12, size: int = 96) -> list:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        # a view of a bigger batch storage, as predict() returns it
        batch = torch.from_numpy(rng.random((4, size, size)).astype(np.float32))
        x0, y0 = rng.integers(0, size // 2, 2)
        out.append(dict(pred_cam=batch[1], gt_bboxes=torch.tensor([[x0, y0, x0 + 30., y0 + 20]]),
                        pred_score=torch.softmax(torch.randn(200), 0), pred_label=torch.tensor([3]),
                        gt_label=torch.tensor([3]), img_id=f'im{i}.jpg', img_path=f'/x/im{i}.jpg',
                        ori_shape=(size * 2, size * 2), img_shape=(size, size),
                        homography_matrix=np.diag([0.5, 0.5, 1.0]), sample_idx=i))
    return out


def test_dump_is_compact_and_metrics_recompute_exactly(tmp_path):
    samples = _samples()
    path = str(tmp_path / 'preds.pkl')
    dump = DumpWSOLResults(path)
    dump.process([], samples)
    assert dump.compute_metrics(dump.results) == dict(saved=12.0)
    # one uint8 map + 200 float16 scores + a few fields, not the whole batch storage
    assert os.path.getsize(path) < 12 * (96 * 96 + 200 * 2 + 1500)
    records = load_wsol_results(path)
    assert records[0]['pred_cam'].dtype == np.uint8 and records[0]['pred_cam'].flags.c_contiguous
    assert records[0]['pred_score'].dtype == np.float16
    online, offline = MaxBoxAccV2Metric(), MaxBoxAccV2Metric()
    online.process([], samples)
    offline.process([], records)  # reads the uint8 maps as they are
    assert online.compute_metrics(online.results) == offline.compute_metrics(offline.results)
    online, offline = FixedThresholdLocMetric(cam_thr=0.3), FixedThresholdLocMetric(cam_thr=0.3)
    online.process([], samples)
    offline.process([], [dict(r, pred_cam=decode_maps(r['pred_cam'])) for r in records])
    assert online.compute_metrics(online.results) == offline.compute_metrics(offline.results)


def test_loader_refuses_code_and_foreign_pickles(tmp_path):
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps([os.system]))  # a global outside the allow-list
    with pytest.raises(ValueError, match='not a wsol_mm results file'):
        load_wsol_results(str(evil))
    other = tmp_path / 'other.pkl'
    other.write_bytes(pickle.dumps({'a': 1}))
    with pytest.raises(ValueError, match='tools/test.py --out'):
        load_wsol_results(str(other))
    with pytest.raises(FileNotFoundError):
        load_wsol_results(str(tmp_path / 'missing.pkl'))


def test_float16_maps_and_topk_maps_are_kept_on_request():
    s = _samples(1)[0]
    s.update(pred_cams=torch.rand(5, 96, 96), pred_cam_labels=torch.arange(5))
    record = compact_record(s, cam_dtype='float16', topk_cams=True)
    assert record['pred_cam'].dtype == np.float16 and record['pred_cams'].shape == (5, 96, 96)
    assert np.abs(record['pred_cam'] - s['pred_cam'].numpy()).max() < 1e-3
    assert 'pred_cams' not in compact_record(s)
    with pytest.raises(ValueError, match='cam_dtype'):
        compact_record(s, cam_dtype='int4')
