"""The only place where a pipeline dict becomes model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS
from wsol_mm.structures import WSOLDataSample


@TRANSFORMS.register_module()
class PackWSOLInputs(BaseTransform):
    """Pack ``img`` into a ``(3, H, W)`` uint8 tensor and the rest into a sample.

    Args:
        meta_keys (tuple): keys copied into the sample's metainfo when present.
    """

    DEFAULT_META_KEYS = ('img_path', 'img_id', 'sample_idx', 'ori_shape', 'img_shape',
                         'scale_factor', 'flip', 'flip_direction', 'crop_bbox', 'ori_gt_bboxes',
                         'homography_matrix')

    def __init__(self, meta_keys: tuple = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = WSOLDataSample()
        if results.get('gt_label') is not None:
            sample.set_gt_label(int(results['gt_label']))
        if results.get('gt_bboxes') is not None:
            sample.gt_bboxes = torch.from_numpy(np.asarray(results['gt_bboxes'], np.float32))
        for key in ('gt_mask', 'ignore_mask'):
            if results.get(key) is not None:
                sample.set_data({key: torch.from_numpy(results[key] > 0)})
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=torch.from_numpy(img), data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
