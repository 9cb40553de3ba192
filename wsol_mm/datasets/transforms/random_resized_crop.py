"""Box/mask-aware RandomResizedCrop (Inception-style)."""
import math
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS

from .geometry import crop_results, parse_size, resize_results


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area/aspect window, then resize it to ``scale``.

    Sampling follows torchvision: 10 tries of area in ``crop_ratio_range`` and
    log-uniform aspect in ``aspect_ratio_range``, else a centre crop.

    Args:
        scale (int | Sequence[int]): output ``(w, h)`` or one side.
        crop_ratio_range (tuple): area fraction range. Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple): w/h range. Defaults to (3/4, 4/3).
        interpolation (str): image interpolation. Defaults to 'bilinear'.
    """

    def __init__(self, scale: Union[int, Sequence[int]],
                 crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 interpolation: str = 'bilinear') -> None:
        self.scale = parse_size(scale)
        self.crop_ratio_range = crop_ratio_range
        self.aspect_ratio_range = aspect_ratio_range
        self.interpolation = interpolation

    def _sample(self, h: int, w: int) -> Tuple[int, int, int, int]:
        area = h * w
        log_ratio = (math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1]))
        for _ in range(10):
            target = area * np.random.uniform(*self.crop_ratio_range)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target * aspect)))
            ch = int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return np.random.randint(0, w - cw + 1), np.random.randint(0, h - ch + 1), cw, ch
        in_ratio = w / h
        if in_ratio < self.aspect_ratio_range[0]:
            cw, ch = w, int(round(w / self.aspect_ratio_range[0]))
        elif in_ratio > self.aspect_ratio_range[1]:
            ch, cw = h, int(round(h * self.aspect_ratio_range[1]))
        else:
            cw, ch = w, h
        return (w - cw) // 2, (h - ch) // 2, cw, ch

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        crop_results(results, *self._sample(h, w))
        resize_results(results, self.scale[0], self.scale[1], self.interpolation)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale}, ' \
               f'crop_ratio_range={self.crop_ratio_range})'
