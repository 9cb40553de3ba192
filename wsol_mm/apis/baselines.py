"""Trivial localization baselines scored by the config's own evaluators."""
import copy
from typing import Dict

import numpy as np
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator

from wsol_mm.registry import DATASETS
from wsol_mm.utils import register_all_modules


def _box_map(h: int, w: int, box) -> torch.Tensor:
    cam = torch.zeros(h, w)
    x0, y0, x1, y1 = box
    cam[y0:y1 + 1, x0:x1 + 1] = 1.0
    return cam


def mean_relative_box_size(dataset) -> tuple:
    """Mean GT box width and height as fractions of the image (original frame)."""
    sizes = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        w, h = info['ori_size'] or (None, None)
        for x0, y0, x1, y1 in info['gt_bboxes']:
            if w:
                sizes.append(((x1 - x0 + 1) / w, (y1 - y0 + 1) / h))
    if not sizes:
        raise ValueError('the training split has no GT box with a known image size; '
                         'the centre-box baseline needs image_sizes.txt and boxes')
    return tuple(np.mean(sizes, axis=0))


def evaluate_box_baselines(cfg: Config) -> Dict[str, Dict[str, float]]:
    """Score ``whole-image`` and ``centre-box`` maps on the config's test split.

    The whole-image baseline predicts the full frame at every threshold (an all-ones
    map); the centre box has the mean GT width/height of the *training* split
    (no peeking at the evaluated split). Every image is assigned the true class
    with probability 1, so classification metrics read 100 and are not meaningful.
    """
    register_all_modules()
    train_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    train_cfg.pop('pipeline', None)
    rel_w, rel_h = mean_relative_box_size(DATASETS.build(train_cfg))
    test_set = DATASETS.build(cfg.test_dataloader.dataset)
    results = {}
    for name in ('whole-image', 'centre-box'):
        evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator))
        evaluator.dataset_meta = test_set.metainfo
        for i in range(len(test_set)):
            sample = test_set[i]['data_samples']
            h, w = sample.img_shape
            if name == 'whole-image':
                box = (0, 0, w - 1, h - 1)
            else:
                bw, bh = max(1, round(rel_w * w)), max(1, round(rel_h * h))
                box = ((w - bw) // 2, (h - bh) // 2, (w - bw) // 2 + bw - 1,
                       (h - bh) // 2 + bh - 1)
            cam = _box_map(h, w, box)
            num_classes = len(test_set.metainfo['classes'])
            score = torch.zeros(num_classes)
            score[sample.gt_label] = 1.0
            sample.set_pred_score(score)
            sample.set_pred_label(sample.gt_label)
            sample.pred_cam = cam
            sample.pred_cams = cam[None].repeat(min(5, num_classes), 1, 1)
            others = [c for c in range(num_classes) if c != int(sample.gt_label)]
            sample.pred_cam_labels = torch.tensor([int(sample.gt_label)] + others)[:5]
            evaluator.process([sample])
        results[name] = evaluator.evaluate(len(test_set))
    return results
