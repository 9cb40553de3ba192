"""Checkpoints of wsolevaluation-based code (wsolevaluation CAM / HaS / CutMix / ADL,
Small-Object-Matters CropCAM) -> wsol_mm ``CAMLocalizer`` state dicts.

Both repositories save ``{'architecture', 'epoch', 'state_dict', 'optimizer'}``;
``state_dict`` is the plain network (CropCAM has no parameters of its own),
with a ``module.`` prefix when it was trained under ``nn.DataParallel``. HaS and CutMix
train the plain CAM network; ADL's layers have no parameters but shift the indices of
the ResNet50 / VGG16 ``nn.Sequential`` they sit in (InceptionV3-ADL keeps the CAM keys).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from ..backbones.resnet_cam import ADL_POSITIONS
from .conversion_error import ConversionError

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


# VGG16 `features` layouts of wsolevaluation's `configs_dict`: c = conv + ReLU (two slots),
# M = max-pool, A = ADL (one slot each); 14x14 / 28x28 maps.
_VGG_LAYOUTS = {
    'cam_14': 'ccMccMcccMcccMccc', 'cam_28': 'ccMccMcccMcccccc',
    'adl_14': 'ccMccMcccMAcccAMcccA', 'adl_28': 'ccMccMcccMAcccAcccA',
}
_RESNET50_BLOCKS = dict(layer1=3, layer2=4, layer3=6, layer4=3)


def _conv_indices(layout: str) -> List[int]:
    """``features`` indices of the convs of a VGG layout string."""
    out, idx = [], 0
    for token in layout:
        if token == 'c':
            out.append(idx)
        idx += 2 if token == 'c' else 1
    return out


def adl_renames(state: Dict[str, torch.Tensor], arch: str) -> Dict[str, str]:
    """``{released ADL key prefix: CAM key prefix}``; empty for a CAM-layout checkpoint.

    ResNet50-ADL (``ResNetAdl``) inserts an ADL after layer3 block 0 and layer4 blocks 0
    and 2 inside the stages, VGG16-ADL after pool3, conv4_3 and conv5_3 inside
    ``features``: the following indices move up. wsol_mm keeps the plain indices (its
    ADL layers sit beside the blocks), so those keys move back.
    """
    names = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if arch == 'resnet50' and any(n.startswith('layer3.6.') for n in names):
        renames = {}
        for stage, blocks in _RESNET50_BLOCKS.items():
            layout = []
            for block in range(blocks):
                layout.append(block)
                layout += ['A'] if block in ADL_POSITIONS.get(stage, ()) else []
            renames.update({f'{stage}.{layout.index(b)}.': f'{stage}.{b}.'
                            for b in range(blocks)})
        return renames
    if arch == 'vgg16':
        found = sorted({int(m.group(1)) for n in names
                        for m in [re.match(r'features\.(\d+)\.', n)] if m})
        for size in ('14', '28'):
            if found == _conv_indices(_VGG_LAYOUTS[f'adl_{size}']):
                return {f'features.{a}.': f'features.{b}.' for a, b in zip(
                    found, _conv_indices(_VGG_LAYOUTS[f'cam_{size}']))}
    return {}


def detect_architecture(state: Dict[str, torch.Tensor]) -> str:
    """Guess ``resnet50`` / ``vgg16`` / ``inception_v3`` from the key names."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if any(k.startswith('Mixed_') for k in keys):
        return 'inception_v3'
    if any(k.startswith('conv6.') for k in keys):
        return 'vgg16'
    if any(k.startswith('layer4.') for k in keys):
        return 'resnet50'
    raise ConversionError('cannot recognise the architecture from the checkpoint keys '
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

        ADL checkpoints (the released ``ResNetAdl`` / ``VggCam`` with ADL layers,
        recognised by their shifted indices) load into the same models built with
        ``adl=...`` (``configs/adl``); ``meta['layout']`` says which layout was read.

    Raises:
        KeyError: a key that no rule consumes (e.g. an ACoL/SPG variant).
    """
    state = checkpoint.get('state_dict', checkpoint)
    arch = arch or checkpoint.get('architecture') or detect_architecture(state)
    if arch not in KEY_MAPS:
        raise ConversionError(f'architecture {arch!r} is not one of {sorted(KEY_MAPS)}')
    renames = adl_renames(state, arch)
    out, unused = OrderedDict(), []
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        prefix = next((p for p in renames if name.startswith(p)), None)
        name = renames[prefix] + name[len(prefix):] if prefix else name
        for src, dst in KEY_MAPS[arch]:
            if name.startswith(src):
                out[dst + name[len(src):]] = value
                break
        else:
            unused.append(key)
    if unused:
        raise ConversionError(f'{len(unused)} {arch} checkpoint keys have no wsol_mm counterpart: '
                       f'{unused[:8]}; only the CAM and ADL models (method cam/has/cutmix/'
                       'adl/crop) convert')
    meta = dict(source='wsolevaluation', architecture=arch, layout='adl' if renames else 'cam',
                epoch=checkpoint.get('epoch') if 'state_dict' in checkpoint else None)
    return dict(state_dict=out, meta=meta)
