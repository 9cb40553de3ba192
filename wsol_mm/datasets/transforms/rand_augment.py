"""timm's RandAugment (DeiT recipe) on the pipeline's BGR uint8 image."""
from typing import Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image
from timm.data.auto_augment import (
    _RAND_INCREASING_TRANSFORMS,
    _RAND_TRANSFORMS,
    posterize,
    rand_augment_transform,
)
from timm.data.transforms import str_to_pil_interp

from wsol_mm.registry import TRANSFORMS

# RandAugment ops that move pixels: they would invalidate boxes and masks.
GEOMETRIC_OPS = ('Rotate', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
                 'TranslateX', 'TranslateY')
_LOCATION_KEYS = ('gt_bboxes', 'gt_mask', 'ignore_mask')


def posterize_keeping_any_bits(img: Image.Image, bits_to_keep: int, **kwargs) -> Image.Image:
    """timm's ``posterize``, where keeping 0 bits gives a black image.

    ``PosterizeIncreasing`` keeps ``4 - int(magnitude / 10 * 4)`` bits, 0 at magnitude 10
    (reached by 'm9-mstd0.5' about once in 40 draws). Older Pillow releases, those of the
    released DeiT / LCA-MD runs, masked every bit then (a black image); Pillow 13
    (pinned here) raises "bits must be between or equal to 1 and 8" instead, which stopped
    training about once in 650 images.
    """
    if bits_to_keep <= 0:
        return Image.new(img.mode, img.size)
    return posterize(img, bits_to_keep, **kwargs)


def black_posterize(augment):
    """Make the posterize ops of a timm ``RandAugment`` keep 0 bits as black (in place)."""
    for op in augment.ops:
        if op.aug_fn is posterize:
            op.aug_fn = posterize_keeping_any_bits
    return augment


@TRANSFORMS.register_module()
class RandAugment(BaseTransform):
    """timm ``rand_augment_transform`` (e.g. ``'rand-m9-mstd0.5-inc1'``, DeiT/LCA-MD §4.1).

    Geometric ops (rotate, shear, translate) move the object, so this
    transform either (``color_only=False``, the recipe) drops ``gt_bboxes``,
    ``gt_mask`` and ``ignore_mask`` from the results - WSOL training uses only
    the image label - or (``color_only=True``) samples only the colour ops and
    keeps every box valid.

    Args:
        config_str (str): timm RandAugment string. Defaults to 'rand-m9-mstd0.5-inc1'.
        img_size (int): output side, sets timm's ``translate_const`` (0.45 x size).
            Defaults to 224.
        mean (Sequence[float]): RGB fill of geometric ops, 0-255. Defaults to ImageNet's.
        interpolation (str): resampling of geometric ops. Defaults to 'bicubic'.
        color_only (bool): only colour ops; boxes stay. Defaults to False.
    """

    def __init__(self, config_str: str = 'rand-m9-mstd0.5-inc1', img_size: int = 224,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 interpolation: str = 'bicubic', color_only: bool = False) -> None:
        hparams = dict(translate_const=int(img_size * 0.45),
                       img_mean=tuple(min(255, round(m)) for m in mean),
                       interpolation=str_to_pil_interp(interpolation))
        ops: Optional[list] = None
        if color_only:
            names = _RAND_INCREASING_TRANSFORMS if 'inc1' in config_str else _RAND_TRANSFORMS
            ops = [n for n in names if n not in GEOMETRIC_OPS]
        self.config_str = config_str
        self.color_only = color_only
        self.op_names = ops
        self.augment = black_posterize(rand_augment_transform(config_str, hparams,
                                                              transforms=ops))

    def transform(self, results: dict) -> dict:
        # cv2's channel swaps: ~100x numpy's strided ``[..., ::-1]`` copies.
        rgb = Image.fromarray(cv2.cvtColor(results['img'], cv2.COLOR_BGR2RGB))
        results['img'] = cv2.cvtColor(np.asarray(self.augment(rgb)), cv2.COLOR_RGB2BGR)
        if not self.color_only:
            for key in _LOCATION_KEYS:
                results.pop(key, None)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(config_str={self.config_str!r}, '
                f'color_only={self.color_only})')
