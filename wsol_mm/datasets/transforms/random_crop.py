"""Box/mask-aware random crop of a fixed size."""
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS

from .geometry import crop_results


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``(w, h)`` window (wsolevaluation: resize 256 -> crop 224).

    Args:
        crop_size (int | Sequence[int]): ``(w, h)`` or one side.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]) -> None:
        self.crop_size = (crop_size, crop_size) if isinstance(crop_size, int) \
            else tuple(crop_size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        cw, ch = self.crop_size
        if cw > w or ch > h:
            raise ValueError(f'crop {cw}x{ch} is larger than the image {w}x{h} '
                             f'({results.get("img_path")}); resize first')
        x0 = np.random.randint(0, w - cw + 1)
        y0 = np.random.randint(0, h - ch + 1)
        crop_results(results, x0, y0, cw, ch)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'
