"""Checkpoint selection follows each paper: SCM and LCA-MD keep the best oracle-sweep GT-Known."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

import wsol_mm.evaluation  # noqa: F401  (registers the metrics)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SWEEP_CONFIGS = sorted(osp.relpath(p, REPO_ROOT) for folder in ('lca_md', 'scm')
                       for p in glob.glob(osp.join(REPO_ROOT, 'configs', folder, '*.py'))) + [
                           'configs/crop/deit_s_cub_lca_md.py', 'configs/crop/deit_s_cub_scm.py']


@pytest.mark.parametrize('config', SWEEP_CONFIGS)
def test_sweep_gt_known_selects(config):
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    checkpoint = cfg.default_hooks.checkpoint
    assert checkpoint.save_best == 'sweep/gt_known' and checkpoint.rule == 'greater', config
    evaluators = cfg.val_evaluator if isinstance(cfg.val_evaluator, list) else [cfg.val_evaluator]
    assert any(e['type'] == 'ThresholdSweepLocMetric' for e in evaluators), config


def test_default_selection_elsewhere_is_unchanged():
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/tscam/deit_s_cub.py'))
    assert cfg.default_hooks.checkpoint.save_best == 'maxboxaccv2/mean'


def test_the_sweep_metric_reports_the_selection_key():
    """The key the configs select on is one the val evaluator writes (a typo would make
    mmengine skip the best checkpoint)."""
    rng = np.random.default_rng(0)
    samples = []
    for i in range(4):
        cam = torch.from_numpy(rng.random((16, 16))).float()
        cam[3:10, 4:12] += 1.0
        cam = (cam - cam.min()) / (cam.max() - cam.min())
        score = torch.from_numpy(rng.random(6)).float().softmax(0)
        top = score.argsort(descending=True)[:5]
        samples.append(dict(pred_cam=cam, pred_cams=torch.stack([cam] * 5), pred_cam_labels=top,
                            pred_score=score, pred_label=top[:1], gt_label=torch.tensor([i]),
                            gt_bboxes=torch.tensor([[4., 3., 11., 9.]]), ori_shape=(16, 16)))
    evaluator = Evaluator([dict(type='ThresholdSweepLocMetric', _scope_='wsol_mm')])
    evaluator.process(samples)
    assert 'sweep/gt_known' in evaluator.evaluate(len(samples))
