"""Stacking, BGR->RGB and mean/std normalisation: the only normalisation step."""
from typing import Sequence

from mmengine.model import ImgDataPreprocessor

from wsol_mm.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class WSOLDataPreprocessor(ImgDataPreprocessor):
    """Cast, stack and normalise images on the model's device.

    Args:
        mean (Sequence[float]): RGB mean on the 0-255 scale. Defaults to ImageNet's.
        std (Sequence[float]): RGB std on the 0-255 scale. Defaults to ImageNet's.
        bgr_to_rgb (bool): images arrive BGR from OpenCV. Defaults to True.
        pad_size_divisor (int): Defaults to 1.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, bgr_to_rgb: bool = True,
                 pad_size_divisor: int = 1, **kwargs) -> None:
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb,
                         pad_size_divisor=pad_size_divisor, **kwargs)
