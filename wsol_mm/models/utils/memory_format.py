"""Layers fed in contiguous (NCHW) order inside a channels-last model."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn


def _contiguous_args(module: nn.Module, args: Tuple) -> Optional[Tuple]:
    """Forward pre-hook: 4-D CPU tensor arguments in contiguous (NCHW) memory order,
    except under autocast (bfloat16 runs as fast or faster in channels-last)."""
    tensors = [a for a in args if isinstance(a, torch.Tensor) and a.dim() == 4]
    if not tensors or tensors[0].device.type != 'cpu' or torch.is_autocast_enabled('cpu'):
        return None  # the arguments as they are (GPUs: cuDNN, not measured)
    return tuple(a.contiguous() if isinstance(a, torch.Tensor) and a.dim() == 4 else a
                 for a in args)


def feed_contiguous(model: nn.Module, names: Sequence[str], key: str) -> None:
    """Make the 4-D inputs of the submodules ``names`` contiguous (NCHW) before they run.

    Same values, another memory order. With channels-last batches (the CNN configs'
    ``data_preprocessor.channels_last``) every convolution keeps channels-last, but
    oneDNN's float32 3x3 convolutions with 1024 output channels (the InceptionV3 head on
    28 x 28 maps, ACoL's classifier branches) train 13-21 % faster on its blocked NCHW
    kernels, while the rest of the trunk (pooling, batch norm, the small convolutions) is
    faster in channels-last (docs/speed.md). Under autocast (bfloat16) the input is left
    as it is: there channels-last is as fast or faster. Inputs on other devices are left
    as they are too: the switch rests on oneDNN (CPU) measurements. A contiguous input is
    passed through untouched, and the layers after such a module keep NCHW, so one name
    per switch is enough.

    Args:
        model (nn.Module): the model that owns the submodules.
        names (Sequence[str]): dotted submodule names, e.g. ``'head.conv1'``.
        key (str): the config key of ``names``, for the error message.

    Raises:
        ValueError: a name that is not a submodule of ``model``.
    """
    if isinstance(names, str):
        raise TypeError(f'`{key}` must be a list of submodule names, got the string {names!r}')
    for name in names:
        try:
            module = model.get_submodule(name)
        except AttributeError:
            raise ValueError(f'`{key}`: {name!r} is not a submodule of '
                             f'{type(model).__name__}; use a dotted name from '
                             '`model.named_modules()`, e.g. \'head.conv1\'') from None
        module.register_forward_pre_hook(_contiguous_args)
