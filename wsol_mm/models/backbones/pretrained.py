"""Loading torchvision ImageNet weights from a local file or, if allowed, a download."""
import os.path as osp
from typing import Dict, Optional

import torch
import torch.nn as nn
import torchvision
from mmengine.logging import MMLogger


def load_torchvision_weights(module: nn.Module, pretrained: str, arch: str,
                             weights_enum: str, key_map: Optional[Dict[str, str]] = None,
                             drop_prefixes: tuple = ('fc.', 'classifier.', 'AuxLogits.')) -> None:
    """Load a torchvision state dict into ``module`` with renamed keys.

    Args:
        module (nn.Module): the backbone to fill.
        pretrained (str): a local ``.pth`` path, or ``'torchvision'`` to download
            ``<weights_enum>.IMAGENET1K_V1`` through torchvision (needs internet).
        arch (str): torchvision architecture name (for messages).
        weights_enum (str): torchvision weights enum name, e.g. ``'ResNet50_Weights'``.
        key_map (dict, optional): prefix renames ``{torchvision_prefix: our_prefix}``.
        drop_prefixes (tuple): classifier prefixes not loaded.
    """
    if pretrained == 'torchvision':
        weights = getattr(torchvision.models, weights_enum).IMAGENET1K_V1
        state = weights.get_state_dict(progress=True)
    else:
        if not osp.isfile(pretrained):
            raise FileNotFoundError(f'pretrained weights {pretrained} not found (key '
                                    "`backbone.pretrained`: a local file or 'torchvision')")
        state = torch.load(pretrained, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
    renamed = {}
    for key, value in state.items():
        if key.startswith(drop_prefixes):
            continue
        for src, dst in (key_map or {}).items():
            if key.startswith(src + '.'):
                key = dst + key[len(src):]
                break
        renamed[key] = value
    missing, unexpected = module.load_state_dict(renamed, strict=False)
    logger = MMLogger.get_current_instance()
    if unexpected:
        raise KeyError(f'{pretrained}: keys not in {arch}: {unexpected[:10]}; is it a '
                       f'torchvision {arch} checkpoint?')
    if missing:
        logger.warning(f'{arch}: not in the pretrained file (newly initialised): {missing}')
