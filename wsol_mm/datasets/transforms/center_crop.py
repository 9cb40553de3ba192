"""Box/mask-aware centre crop."""
from typing import Tuple

from wsol_mm.registry import TRANSFORMS

from .base_crop import BaseCrop


@TRANSFORMS.register_module()
class CenterCrop(BaseCrop):
    """Crop the central ``(w, h)`` window (TS-CAM test: resize 256 -> crop 224).

    A window larger than the image is cut to the image.

    Args:
        crop_size (int | Sequence[int]): ``(w, h)`` or one side.
    """

    def _window(self, results: dict, w: int, h: int) -> Tuple[int, int, int, int]:
        cw, ch = min(self.crop_size[0], w), min(self.crop_size[1], h)
        return (w - cw) // 2, (h - ch) // 2, cw, ch
