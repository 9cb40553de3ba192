"""Box/mask-aware centre crop."""
from typing import Sequence, Union

from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS

from .geometry import crop_results


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the central ``(w, h)`` window (TS-CAM test: resize 256 -> crop 224).

    Args:
        crop_size (int | Sequence[int]): ``(w, h)`` or one side.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]) -> None:
        self.crop_size = (crop_size, crop_size) if isinstance(crop_size, int) \
            else tuple(crop_size)

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        cw, ch = min(self.crop_size[0], w), min(self.crop_size[1], h)
        crop_results(results, (w - cw) // 2, (h - ch) // 2, cw, ch)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'
