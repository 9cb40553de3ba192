"""Checkpoints of wsolevaluation-based code (wsolevaluation CAM, Small-Object-Matters
CropCAM) -> wsol_mm ``CAMLocalizer`` state dicts.

Both repositories save ``{'architecture', 'epoch', 'state_dict', 'optimizer'}``;
``state_dict`` is the plain network (CropCAM has no parameters of its own),
with a ``module.`` prefix when it was trained under ``nn.DataParallel``.
"""
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

# (official prefix, wsol_mm prefix); first match wins.
KEY_MAPS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    'resnet50': (('conv1.', 'backbone.stem.0.'), ('bn1.', 'backbone.stem.1.'),
                 ('layer1.', 'backbone.layer1.'), ('layer2.', 'backbone.layer2.'),
                 ('layer3.', 'backbone.layer3.'), ('layer4.', 'backbone.layer4.'),
                 ('fc.', 'head.fc.')),
    'vgg16': (('features.', 'backbone.features.'), ('conv6.', 'backbone.conv6.'),
              ('fc.', 'head.fc.')),
    'inception_v3': (('Conv2d_', 'backbone.Conv2d_'), ('Mixed_', 'backbone.Mixed_'),
                     ('SPG_A3_1b.0.', 'head.conv1.'), ('SPG_A3_2b.0.', 'head.conv2.'),
                     ('SPG_A4.', 'head.cls_conv.')),
}


def detect_architecture(state: Dict[str, torch.Tensor]) -> str:
    """Guess ``resnet50`` / ``vgg16`` / ``inception_v3`` from the key names."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if any(k.startswith('Mixed_') for k in keys):
        return 'inception_v3'
    if any(k.startswith('conv6.') for k in keys):
        return 'vgg16'
    if any(k.startswith('layer4.') for k in keys):
        return 'resnet50'
    raise KeyError('cannot recognise the architecture from the checkpoint keys '
                   f'{keys[:5]}...; pass --arch resnet50|vgg16|inception_v3')


def convert_wsolevaluation(checkpoint: dict, arch: Optional[str] = None) -> Dict[str, dict]:
    """Convert an official checkpoint (the saved dict, or a bare state dict).

    Args:
        checkpoint (dict): ``{'state_dict': ..., 'architecture': ...}`` or a state dict.
        arch (str, optional): ``resnet50``, ``vgg16`` or ``inception_v3``;
            default from ``checkpoint['architecture']`` or the key names.

    Returns:
        dict: ``{'state_dict': OrderedDict, 'meta': {...}}`` loadable by mmengine
        (``load_from``) into ``CAMLocalizer`` with ``ResNetCAM(depth=50)`` /
        ``VGG16CAM`` + ``CAMHead`` or ``InceptionV3CAM`` + ``ConvClassMapHead``.

    Raises:
        KeyError: a key that no rule consumes (e.g. an ACoL/SPG/ADL variant).
    """
    state = checkpoint.get('state_dict', checkpoint)
    arch = arch or checkpoint.get('architecture') or detect_architecture(state)
    if arch not in KEY_MAPS:
        raise KeyError(f'architecture {arch!r} is not one of {sorted(KEY_MAPS)}')
    out, unused = OrderedDict(), []
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        for src, dst in KEY_MAPS[arch]:
            if name.startswith(src):
                out[dst + name[len(src):]] = value
                break
        else:
            unused.append(key)
    if unused:
        raise KeyError(f'{len(unused)} {arch} checkpoint keys have no wsol_mm counterpart: '
                       f'{unused[:8]}; only the plain CAM models (method cam/has/cutmix/crop) '
                       'convert')
    meta = dict(source='wsolevaluation', architecture=arch,
                epoch=checkpoint.get('epoch') if 'state_dict' in checkpoint else None)
    return dict(state_dict=out, meta=meta)
