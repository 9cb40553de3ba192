"""Box/mask-aware random horizontal flip."""
import numpy as np
from mmcv.transforms import BaseTransform

from wsol_mm.registry import TRANSFORMS

from .geometry import hflip_results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip horizontally with probability ``prob``.

    Args:
        prob (float): flip probability. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = bool(np.random.rand() < self.prob)
        if flip:
            hflip_results(results)
        results.update(flip=flip, flip_direction='horizontal' if flip else None)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
