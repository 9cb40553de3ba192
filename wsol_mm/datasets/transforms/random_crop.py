"""Box/mask-aware random crop of a fixed size."""
from typing import Tuple

import numpy as np

from wsol_mm.registry import TRANSFORMS

from .base_crop import BaseCrop


@TRANSFORMS.register_module()
class RandomCrop(BaseCrop):
    """Crop a random ``(w, h)`` window (wsolevaluation: resize 256 -> crop 224).

    Args:
        crop_size (int | Sequence[int]): ``(w, h)`` or one side.
    """

    def _window(self, results: dict, w: int, h: int) -> Tuple[int, int, int, int]:
        cw, ch = self.crop_size
        if cw > w or ch > h:
            raise ValueError(f'crop {cw}x{ch} is larger than the image {w}x{h} '
                             f'({results.get("img_path")}); resize first')
        x0 = np.random.randint(0, w - cw + 1)
        y0 = np.random.randint(0, h - ch + 1)
        return x0, y0, cw, ch
