"""2-process gloo evaluation equals 1-process evaluation."""
import json
import os
import socket

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.evaluator import Evaluator

METRICS_CFG = [dict(type='ClsAccuracyMetric'), dict(type='MaxBoxAccV2Metric', size_bins=True),
               dict(type='MaxBoxAccMetric', cam_curve_interval=0.01),
               dict(type='FixedThresholdLocMetric'), dict(type='ThresholdSweepLocMetric'),
               dict(type='PxAPMetric', cam_curve_interval=0.01, size_bins=True)]


def _samples(n: int = 11) -> list:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        cam = torch.from_numpy(rng.random((24, 24))).float() ** 4
        cam[4 + i % 5:14, 3:12 + i % 7] += 0.8
        cam = (cam - cam.min()) / (cam.max() - cam.min())
        score = torch.from_numpy(rng.random(6)).float().softmax(0)
        top = score.argsort(descending=True)[:5]
        gt = torch.zeros(24, 24, dtype=torch.bool)
        gt[4:14, 3:12] = True
        out.append(dict(pred_cam=cam, pred_cams=torch.stack([cam] * 5), pred_cam_labels=top,
                        pred_score=score, pred_label=top[:1], gt_label=torch.tensor([i % 6]),
                        gt_bboxes=torch.tensor([[3., 4., 11., 13.]]), gt_mask=gt,
                        ori_gt_bboxes=np.array([[30., 40., 110., 130.]]), ori_shape=(240, 240)))
    return out


def _evaluate(samples: list, rank: int, world: int) -> dict:
    import wsol_mm.evaluation  # noqa: F401
    from wsol_mm.registry import METRICS  # noqa: F401  (registers the metrics)
    evaluator = Evaluator([dict(cfg, _scope_='wsol_mm') for cfg in METRICS_CFG])
    # DistributedSampler-style split (rank::world), padded batch like mmengine
    evaluator.process(samples[rank::world])
    return evaluator.evaluate(len(samples))


def _worker(rank: int, world: int, port: int, out_file: str) -> None:
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        res = _evaluate(_samples(), rank, world)
        if rank == 0:
            with open(out_file, 'w') as f:
                json.dump(res, f)
    finally:
        dist.destroy_process_group()


def test_two_process_equals_one(tmp_path):
    import wsol_mm.evaluation  # noqa: F401
    single = _evaluate(_samples(), 0, 1)
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out_file = str(tmp_path / 'res.json')
    # fork: the children reuse the parent's imports (spawn would re-import torch)
    mp.start_processes(_worker, args=(2, port, out_file), nprocs=2, join=True,
                       start_method='fork')
    with open(out_file) as f:
        multi = json.load(f)
    assert set(multi) == set(single)
    for key, value in single.items():
        assert multi[key] == value, key
