"""Box/mask-aware resize to a fixed size."""
from typing import Sequence, Union

from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS

from .geometry import parse_size, resize_results


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to a fixed ``(w, h)``, ignoring the aspect ratio (wsolevaluation).

    Args:
        scale (int | Sequence[int]): output ``(w, h)`` or one side for squares.
        interpolation (str): image interpolation. Defaults to 'bilinear'.
    """

    def __init__(self, scale: Union[int, Sequence[int]],
                 interpolation: str = 'bilinear') -> None:
        self.scale = parse_size(scale)
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        resize_results(results, self.scale[0], self.scale[1], self.interpolation)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale})'
