"""Stacking, BGR->RGB and mean/std normalisation: the only normalisation step."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class WSOLDataPreprocessor(ImgDataPreprocessor):
    """Cast, stack and normalise images on the model's device; batch augments in training.

    Args:
        mean (Sequence[float]): RGB mean on the 0-255 scale. Defaults to ImageNet's.
        std (Sequence[float]): RGB std on the 0-255 scale. Defaults to ImageNet's.
        bgr_to_rgb (bool): images arrive BGR from OpenCV. Defaults to True.
        pad_size_divisor (int): Defaults to 1.
        batch_augments (list[dict], optional): training-only operations on the
            normalised batch, applied in order, each ``(inputs, data_samples) ->
            (inputs, data_samples)``: :class:`HideAndSeek`, :class:`CutMix` (as
            mmpretrain's ``ClsDataPreprocessor``). Their random draws come from the
            shared :class:`MethodRNG`. Defaults to None.
        channels_last (bool): hand the model the batch in channels-last memory
            order (same values; the convolutions keep that order): a CPU training
            step is up to 1.14x faster in float32 and 1.19x in bfloat16
            (docs/speed.md); the ResNet50, VGG16 and InceptionV3 configs turn it on.
            Defaults to False.
    """

    def __init__(self, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, bgr_to_rgb: bool = True,
                 pad_size_divisor: int = 1,
                 batch_augments: Optional[List[Union[ConfigType, object]]] = None,
                 channels_last: bool = False, **kwargs) -> None:
        super().__init__(mean=mean, std=std, bgr_to_rgb=bgr_to_rgb,
                         pad_size_divisor=pad_size_divisor, **kwargs)
        if batch_augments is not None and not isinstance(batch_augments, (list, tuple)):
            raise TypeError('WSOLDataPreprocessor: `batch_augments` must be a list of configs, '
                            f'got {type(batch_augments).__name__} (key '
                            '`model.data_preprocessor.batch_augments`)')
        self.batch_augments = [MODELS.build(aug) if isinstance(aug, dict) else aug
                               for aug in batch_augments or []]
        if not isinstance(channels_last, bool):
            raise TypeError('WSOLDataPreprocessor: `channels_last` must be True or False, got '
                            f'{channels_last!r} (key `model.data_preprocessor.channels_last`)')
        self.channels_last = channels_last

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalised batch; in training, then each batch augment in turn."""
        data = super().forward(data, training)
        if training:
            for augment in self.batch_augments:
                data['inputs'], data['data_samples'] = augment(data['inputs'],
                                                               data['data_samples'])
        if self.channels_last and data['inputs'].dim() == 4:
            data['inputs'] = data['inputs'].contiguous(memory_format=torch.channels_last)
        return data
