"""Base of the box/mask-aware crops of a fixed ``(w, h)`` window."""
from abc import abstractmethod
from typing import Sequence, Tuple, Union

from mmcv.transforms import BaseTransform

from .geometry import crop_results, parse_size


class BaseCrop(BaseTransform):
    """Crop the window ``_window`` chooses from a ``(w, h)`` size.

    Args:
        crop_size (int | Sequence[int]): ``(w, h)`` or one side.
    """

    def __init__(self, crop_size: Union[int, Sequence[int]]) -> None:
        self.crop_size = parse_size(crop_size)

    @abstractmethod
    def _window(self, results: dict, w: int, h: int) -> Tuple[int, int, int, int]:
        """``(x0, y0, crop_w, crop_h)`` inside the ``w x h`` image."""

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        crop_results(results, *self._window(results, w, h))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'
