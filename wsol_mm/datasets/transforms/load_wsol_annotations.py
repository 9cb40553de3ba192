"""Loading of GT boxes and instance / ignore masks."""
import os.path as osp

import numpy as np
from mmcv.transforms import BaseTransform

from wsol_mm.fileio import read_image
from wsol_mm.registry import TRANSFORMS
from wsol_mm.utils import DataFileError, MissingFileError


def _read_mask(path: str, shape: tuple) -> np.ndarray:
    if not osp.isfile(path):
        raise MissingFileError(f'mask {path} not found (listed in localization.txt); '
                               'check `data_prefix.mask_path`')
    mask = read_image(path, flag='grayscale')
    if mask.shape != tuple(shape):
        raise DataFileError(f'mask {path} is {mask.shape[1]}x{mask.shape[0]} but its image is '
                            f'{shape[1]}x{shape[0]}; masks must have the image resolution')
    return mask


@TRANSFORMS.register_module()
class LoadWSOLAnnotations(BaseTransform):
    """Prepare GT boxes and load masks (union of instances, ignore region).

    Keeps the original boxes as ``ori_gt_bboxes`` for size-ratio metrics. A
    mask pixel is foreground when non-zero (wsolevaluation binarises at 0.5 on
    the 0-255 scale). The ignore region excludes foreground pixels.

    Args:
        with_mask (bool): load ``mask_paths`` / ``ignore_path``. Defaults to True
            (no-op when the record has no mask paths).
    """

    def __init__(self, with_mask: bool = True) -> None:
        self.with_mask = with_mask

    def transform(self, results: dict) -> dict:
        boxes = np.asarray(results.get('gt_bboxes', np.zeros((0, 4))), np.float32).reshape(-1, 4)
        results['gt_bboxes'] = boxes
        results['ori_gt_bboxes'] = boxes.copy()
        if self.with_mask and results.get('mask_paths'):
            shape = results['img'].shape[:2]
            fg = np.zeros(shape, np.uint8)
            for path in results['mask_paths']:
                fg |= (_read_mask(path, shape) > 0).astype(np.uint8)
            results['gt_mask'] = fg
            ignore = np.zeros(shape, np.uint8)
            if results.get('ignore_path'):
                ignore = ((_read_mask(results['ignore_path'], shape) > 0) & (fg == 0))
            results['ignore_mask'] = ignore.astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(with_mask={self.with_mask})'
