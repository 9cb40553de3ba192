"""Stacking, BGR->RGB and mean/std normalisation: the only normalisation step."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import BaseDataElement

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class WSOLDataPreprocessor(ImgDataPreprocessor):
    """Cast, stack and normalise images on the model's device; batch augments in training.

    Images of one size are stacked before they go to the device, and the tensors of all
    data samples go with one copy per dtype: mmengine's per-image and per-sample copies
    (and per-image channel-index copies) each made the CPU wait for the GPU, three times
    per image. The values are those of mmengine's ``ImgDataPreprocessor``.

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
        inputs, samples = data.get('inputs'), data.get('data_samples')
        if _same_size_images(inputs) and (samples is None or _sample_list(samples)):
            rest = {k: v for k, v in data.items() if k not in ('inputs', 'data_samples')}
            data = self.cast_data(rest)
            data['inputs'] = self._normalise(self._batch_to_device(inputs))
            data['data_samples'] = None if samples is None else samples_to_device(
                samples, self.device, self._non_blocking)
        else:  # images of several sizes: mmengine's per-image path pads them
            data = super().forward(data, training)
        if training:
            for augment in self.batch_augments:
                data['inputs'], data['data_samples'] = augment(data['inputs'],
                                                               data['data_samples'])
        if self.channels_last and data['inputs'].dim() == 4:
            data['inputs'] = data['inputs'].contiguous(memory_format=torch.channels_last)
        return data

    def _batch_to_device(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        """One stacked batch on the device: one copy, from pinned memory and without
        waiting for the GPU when the images come from the CPU."""
        first = images[0]
        pin = self.device.type == 'cuda' and first.device.type == 'cpu'
        batch = torch.empty((len(images), *first.shape), dtype=first.dtype, pin_memory=pin)
        torch.stack(list(images), out=batch)
        return batch.to(self.device, non_blocking=pin or self._non_blocking)

    def _normalise(self, batch: torch.Tensor) -> torch.Tensor:
        """mmengine's ``ImgDataPreprocessor`` on a stacked batch (same values); the channel
        swap is a flip, not an index tensor (which is a synchronising copy on a GPU)."""
        if self._enable_normalize and self.mean.shape[0] == 3 and batch.shape[1] != 3:
            raise ValueError('WSOLDataPreprocessor: the mean has 3 values but the images '
                             f'have {batch.shape[1]} channels (shape {tuple(batch.shape)}); '
                             'set `model.data_preprocessor.mean` / `std` per channel')
        if self._channel_conversion:
            batch = batch.flip(1) if batch.shape[1] == 3 else batch[:, [2, 1, 0], ...]
        batch = batch.float()
        if self._enable_normalize:
            # in place (same values): the batch is the fresh buffer stacked above
            batch = batch.sub_(self.mean).div_(self.std)
        div = self.pad_size_divisor
        pad_h, pad_w = (-batch.shape[2]) % div, (-batch.shape[3]) % div
        if pad_h or pad_w:
            batch = F.pad(batch, (0, pad_w, 0, pad_h), 'constant', self.pad_value)
        return batch


def _same_size_images(inputs: object) -> bool:
    """A non-empty list of ``(C, H, W)`` tensors of one shape, dtype and device."""
    if not isinstance(inputs, (list, tuple)) or not inputs or \
            not all(isinstance(t, torch.Tensor) for t in inputs):
        return False
    first = inputs[0]
    return first.dim() == 3 and all(
        t.shape == first.shape and t.dtype == first.dtype and t.device == first.device
        for t in inputs)


def _sample_list(samples: object) -> bool:
    return isinstance(samples, (list, tuple)) and \
        all(isinstance(s, BaseDataElement) for s in samples)


def move_together(tensors: List[torch.Tensor], device: torch.device,
                  non_blocking: bool = False) -> List[torch.Tensor]:
    """``tensors`` on ``device`` with one copy per dtype.

    The tensors of a dtype are flattened into one buffer, copied and split back into
    views of their shapes (one host-to-device transfer instead of one per tensor; from
    pinned memory without waiting for the GPU when CPU tensors go to a CUDA device).
    """
    device = torch.device(device)
    out: List[Optional[torch.Tensor]] = [None] * len(tensors)
    by_dtype: dict = {}
    for i, t in enumerate(tensors):
        by_dtype.setdefault(t.dtype, []).append(i)
    for dtype, idx in by_dtype.items():
        pin = device.type == 'cuda' and all(tensors[i].device.type == 'cpu' for i in idx)
        flat = torch.empty(sum(tensors[i].numel() for i in idx), dtype=dtype,
                           device=tensors[idx[0]].device, pin_memory=pin)
        torch.cat([tensors[i].reshape(-1) for i in idx], out=flat)
        flat = flat.to(device, non_blocking=pin or non_blocking)
        for i, part in zip(idx, flat.split([tensors[i].numel() for i in idx])):
            out[i] = part.view(tensors[i].shape)
    return out


def samples_to_device(samples: Sequence[BaseDataElement], device: torch.device,
                      non_blocking: bool = False) -> list:
    """New data samples whose tensor fields are on ``device`` (top-level tensors moved
    together, see :func:`move_together`; nested elements by their own ``to``); the given
    samples are left as they are (batch augments may change the new ones)."""
    device = torch.device(device)
    fields = [(n, key, value) for n, s in enumerate(samples) for key, value in s.items()
              if isinstance(value, torch.Tensor) and value.device != device]
    nested = [(n, key, value) for n, s in enumerate(samples) for key, value in s.items()
              if isinstance(value, BaseDataElement)]
    out = [s.new() for s in samples]
    if not fields and not nested:
        return out
    moved = move_together([value for _, _, value in fields], device, non_blocking)
    for (n, key, _), value in zip(fields, moved):
        out[n].set_field(value, key)
    for n, key, value in nested:
        out[n].set_field(value.to(device, non_blocking=non_blocking), key)
    return out
