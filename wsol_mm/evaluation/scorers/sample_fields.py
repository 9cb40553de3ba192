"""Reading fields of data samples (dicts after ``to_dict()``) with clear errors.

Torch-free: tensors are recognised by duck typing (``detach``), so offline
evaluation never imports torch.
"""
from typing import Any, Optional

import numpy as np

__all__ = ['FIELD_HINTS', 'get_field', 'as_label']

#: what to configure when a field is missing
FIELD_HINTS = {
    'pred_cam': 'set model.test_cfg to return the GT-class map (pred_cam)',
    'pred_cams': 'set model.test_cfg.topk_cams=5',
    'pred_cam_labels': 'set model.test_cfg.topk_cams=5',
    'pred_score': 'the model must predict class scores (pred_score)',
    'gt_label': 'the dataset must provide class labels',
    'gt_bboxes': 'use a box dataset and pack gt_bboxes in PackWSOLInputs',
    'ori_gt_bboxes': "pack 'ori_gt_bboxes' in PackWSOLInputs meta_keys (or set size_bins=False)",
    'ori_shape': "pack 'ori_shape' in PackWSOLInputs meta_keys (or set size_bins=False)",
    'gt_mask': 'use a mask dataset (OpenImages) that loads gt_mask',
}


def get_field(sample: dict, name: str, metric: str, required: bool = True) -> Optional[Any]:
    """Return ``sample[name]`` as numpy (tensors moved to CPU), or raise a helpful KeyError.

    Args:
        sample (dict): one data sample as a dict.
        name (str): the field.
        metric (str): metric class name for the message.
        required (bool): raise when missing. Defaults to True.

    Returns:
        Any: the value (numpy array for tensors), or None when optional and missing.
    """
    value = sample.get(name)
    if value is None and name == 'gt_bboxes':
        value = sample.get('_gt_bboxes')
    if value is None:
        if not required:
            return None
        hint = FIELD_HINTS.get(name, f'provide {name!r} in the data samples')
        raise KeyError(f'{metric}: {name} missing: {hint}')
    if hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    return value


def as_label(value: Any) -> int:
    """First element of a label field as int."""
    return int(np.asarray(value).reshape(-1)[0])
