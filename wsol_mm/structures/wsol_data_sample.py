"""The one data element that travels from the pipeline to the metrics."""
from multiprocessing.reduction import ForkingPickler
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement

LabelType = Union[torch.Tensor, np.ndarray, Sequence[int], int]


class WSOLDataSample(BaseDataElement):
    """Data sample of weakly supervised object localization.

    All boxes and masks are in the network-input frame (``img_shape``); boxes
    are ``xyxy`` with the inclusive pixel convention of wsolevaluation.

    Meta fields:
        - ``img_path`` (str), ``img_id`` (str): the file and its id in the
          split metadata (``image_ids.txt``); ``sample_idx`` (int).
        - ``ori_shape`` / ``img_shape`` (tuple): ``(H, W)`` before / after the
          pipeline; ``scale_factor`` (tuple): ``(w_scale, h_scale)``.
        - ``flip`` (bool), ``flip_direction`` (str), ``crop_bbox`` (tuple).
        - ``ori_gt_bboxes`` (np.ndarray): ``(N, 4)`` GT boxes in original image
          pixels (used by size-ratio metrics).

    Data fields:
        - ``gt_label`` (LongTensor ``(1,)``), ``gt_bboxes`` (FloatTensor ``(N, 4)``),
          ``gt_mask`` / ``ignore_mask`` (BoolTensor ``(H, W)``).
        - ``pred_score`` (FloatTensor ``(C,)``, softmax), ``pred_label`` (LongTensor ``(1,)``),
          ``pred_logits`` (FloatTensor ``(C,)``, the logits of the same pass).
        - ``pred_cam`` (FloatTensor ``(H, W)``): the GT-class map in [0, 1].
        - ``pred_cams`` (FloatTensor ``(K, H, W)``) for ``pred_cam_labels``
          (LongTensor ``(K,)``): maps of the top-K predicted classes.

    Examples:
        >>> sample = WSOLDataSample().set_gt_label(3)
        >>> sample.gt_label
        tensor([3])
    """

    def set_gt_label(self, value: LabelType) -> 'WSOLDataSample':
        """Set ``gt_label`` as a ``(1,)`` LongTensor and return self."""
        self.set_field(_to_label(value), 'gt_label', dtype=torch.Tensor)
        return self

    def set_pred_label(self, value: LabelType) -> 'WSOLDataSample':
        """Set ``pred_label`` as a ``(1,)`` LongTensor and return self."""
        self.set_field(_to_label(value), 'pred_label', dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: torch.Tensor) -> 'WSOLDataSample':
        """Set ``pred_score`` (1-D scores over classes) and return self."""
        if value.dim() != 1:
            raise ValueError(f'pred_score must be 1-D (C,), got shape {tuple(value.shape)}')
        self.set_field(value, 'pred_score', dtype=torch.Tensor)
        return self

    @property
    def gt_bboxes(self) -> Optional[torch.Tensor]:
        return self._gt_bboxes if hasattr(self, '_gt_bboxes') else None

    @gt_bboxes.setter
    def gt_bboxes(self, value: torch.Tensor) -> None:
        value = torch.as_tensor(value, dtype=torch.float32).reshape(-1, 4)
        self.set_field(value, '_gt_bboxes', dtype=torch.Tensor)

    @gt_bboxes.deleter
    def gt_bboxes(self) -> None:
        del self._gt_bboxes


def _to_label(value: LabelType) -> torch.Tensor:
    if isinstance(value, (int, np.integer)):
        return torch.tensor([int(value)], dtype=torch.long)
    return torch.as_tensor(value, dtype=torch.long).reshape(-1)


def _reduce_data_sample(data_sample: WSOLDataSample):
    # Tensors crossing dataloader workers would each hold a shared-memory file
    # handle ("too many open files"); ship numpy copies instead.
    state = {}
    for k, v in data_sample.__dict__.items():
        is_tensor = isinstance(v, torch.Tensor)
        state[k] = (v.detach().cpu().numpy() if is_tensor else v, is_tensor)
    return _rebuild_data_sample, (type(data_sample), state)


def _rebuild_data_sample(cls: type, state: dict) -> WSOLDataSample:
    data_sample = cls.__new__(cls)
    for k, (v, is_tensor) in state.items():
        data_sample.__dict__[k] = torch.from_numpy(v) if is_tensor else v
    return data_sample


ForkingPickler.register(WSOLDataSample, _reduce_data_sample)
