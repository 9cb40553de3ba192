"""Loading torchvision ImageNet weights from a local file or, if allowed, a download."""
import os.path as osp
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
import torchvision
from mmengine.logging import MMLogger

from wsol_mm.fileio import load_checkpoint_file


def read_torchvision_state(pretrained: str, weights_enum: str) -> Dict[str, torch.Tensor]:
    """Return a torchvision state dict from a local file or the torchvision hub.

    Args:
        pretrained (str): a local ``.pth`` path, or ``'torchvision'`` to download
            ``<weights_enum>.IMAGENET1K_V1`` through torchvision (needs internet).
        weights_enum (str): torchvision weights enum name, e.g. ``'VGG16_Weights'``.
    """
    if pretrained == 'torchvision':
        weights = getattr(torchvision.models, weights_enum).IMAGENET1K_V1
        return weights.get_state_dict(progress=True)
    if not osp.isfile(pretrained):
        raise FileNotFoundError(f'pretrained weights {pretrained} not found (key '
                                "`pretrained`: a local torchvision .pth file or 'torchvision')")
    state = load_checkpoint_file(pretrained, map_location='cpu')
    return state.get('state_dict', state)


def load_torchvision_weights(module: nn.Module, pretrained: str, arch: str,
                             weights_enum: str, key_map: Optional[Dict[str, str]] = None,
                             drop_prefixes: Tuple[str, ...] = ('fc.', 'classifier.',
                                                               'AuxLogits.'),
                             keep_prefixes: Optional[Tuple[str, ...]] = None) -> None:
    """Load a torchvision state dict into ``module`` with renamed keys.

    Args:
        module (nn.Module): the backbone (or head) to fill.
        pretrained (str): a local ``.pth`` path, or ``'torchvision'`` to download
            ``<weights_enum>.IMAGENET1K_V1`` through torchvision (needs internet).
        arch (str): torchvision architecture name (for messages).
        weights_enum (str): torchvision weights enum name, e.g. ``'ResNet50_Weights'``.
        key_map (dict, optional): prefix renames ``{torchvision_prefix: our_prefix}``
            (a prefix matches whole dotted components: ``features.2`` does not
            match ``features.24``).
        drop_prefixes (tuple): torchvision prefixes not loaded (classifiers).
        keep_prefixes (tuple, optional): if given, load only keys with these
            torchvision prefixes (e.g. ``('fc.', )`` to fill a head); every kept
            key must then exist in ``module`` and every ``module`` key must be
            filled.
    """
    state = read_torchvision_state(pretrained, weights_enum)
    renamed = {}
    for key, value in state.items():
        if keep_prefixes is not None:
            if not key.startswith(keep_prefixes):
                continue
        elif key.startswith(drop_prefixes):
            continue
        for src, dst in (key_map or {}).items():
            if key.startswith(src + '.'):
                key = dst + key[len(src):]
                break
        renamed[key] = value
    own = module.state_dict()
    for key, value in renamed.items():
        if key in own and own[key].shape != value.shape:
            raise ValueError(f'{pretrained}: {key} has shape {tuple(value.shape)}, the model '
                             f'expects {tuple(own[key].shape)}; is it a torchvision {arch} '
                             'checkpoint (and are num_classes / strides as intended)?')
    missing, unexpected = module.load_state_dict(renamed, strict=False)
    if unexpected:
        raise KeyError(f'{pretrained}: keys not in {arch}: {unexpected[:10]}; is it a '
                       f'torchvision {arch} checkpoint?')
    if missing and keep_prefixes is not None:
        raise KeyError(f'{pretrained}: {arch} weights {missing[:10]} not found in the file')
    if missing:
        MMLogger.get_current_instance().warning(
            f'{arch}: not in the pretrained file (newly initialised): {missing}')
