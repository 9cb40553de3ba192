"""Helpers turning one data-sample dict into the small per-image record metrics keep."""
from typing import Sequence

import numpy as np
import torch


def to_numpy(value) -> np.ndarray:
    """Tensor / array / list -> numpy (float maps become float64 as wsolevaluation uses)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def require(sample: dict, key: str, hint: str):
    """Return ``sample[key]`` or fail with one clear message saying what to set."""
    if key not in sample or sample[key] is None:
        raise KeyError(f'data sample has no `{key}`: {hint}')
    return sample[key]


def cam_of(sample: dict, key: str = 'pred_cam') -> np.ndarray:
    """The GT-class map as float64, checked for NaN and range."""
    cam = to_numpy(require(sample, key, 'the model predict() must write it '
                           '(CAM localizers do; check model.test_cfg)')).astype(np.float64)
    if np.isnan(cam).any():
        raise ValueError(f'{key} of {sample.get("img_path")} contains NaN')
    return cam


def size_ratios(sample: dict) -> np.ndarray:
    """Area ratio of each GT box in the original image, (x1-x0)(y1-y0)/(W*H)."""
    boxes = to_numpy(require(sample, 'ori_gt_bboxes', 'LoadWSOLAnnotations adds it; keep it '
                             'in PackWSOLInputs meta_keys')).reshape(-1, 4).astype(np.float64)
    h, w = require(sample, 'ori_shape', 'set by LoadImageFromFile')[:2]
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / float(w * h)


def bin_index(ratio: float, edges: Sequence[float]) -> int:
    """Bin of a ratio in percent edges [a, b) (the last bin closed)."""
    pct = ratio * 100.0
    for i in range(len(edges) - 1):
        if pct < edges[i + 1] or i == len(edges) - 2:
            return i
    return len(edges) - 2
