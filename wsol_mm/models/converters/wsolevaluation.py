"""Checkpoints of wsolevaluation-based code (wsolevaluation CAM / HaS / CutMix / ADL / ACoL /
SPG, Small-Object-Matters CropCAM) -> wsol_mm localizer state dicts.

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

# wsolevaluation's ACoL / SPG networks (`wsol/{resnet,vgg,inception}.py` `*Acol`, `*Spg`):
# (method, architecture) -> rules as above. ACoL: `ACoLLocalizer` + `ACoLHead` (+
# `VGG16ACoLCAM`, whose conv indices are the released ones); SPG: the `*SPGCAM` backbones,
# a class-map head and the `SPG` component as the first entry of `model.methods`.
_ACOL_HEAD = (('classifier_A.', 'head.classifier_A.'), ('classifier_B.', 'head.classifier_B.'))
_SPG_BRANCHES = tuple((name, f'methods.0.{name}')
                      for name in ('SPG_B_1a.', 'SPG_B_2a.', 'SPG_B_shared.', 'SPG_C.'))
_RESNET_STEM = (('conv1.', 'backbone.stem.0.'), ('bn1.', 'backbone.stem.1.'),
                ('layer1.', 'backbone.layer1.'), ('layer2.', 'backbone.layer2.'))
_INCEPTION_TRUNK = (('Conv2d_', 'backbone.Conv2d_'), ('Mixed_', 'backbone.Mixed_'))
METHOD_KEY_MAPS: Dict[Tuple[str, str], Tuple[Tuple[str, str], ...]] = {
    ('acol', 'resnet50'): _RESNET_STEM + (('layer3.', 'backbone.layer3.'),
                                          ('layer4.', 'backbone.layer4.')) + _ACOL_HEAD,
    ('acol', 'vgg16'): (('features.', 'backbone.features.'), ) + _ACOL_HEAD,
    ('acol', 'inception_v3'): _INCEPTION_TRUNK + _ACOL_HEAD,
    # ResNetSpg splits layer3 into SPG_A1 (block 0) and SPG_A2 (blocks 1-5)
    ('spg', 'resnet50'): _RESNET_STEM + (('SPG_A1.0.', 'backbone.layer3.0.'), ) + tuple(
        (f'SPG_A2.{i}.', f'backbone.layer3.{i + 1}.') for i in range(5)) + (
            ('layer4.', 'backbone.layer4.'), ('SPG_A4.', 'head.cls_conv.')) + _SPG_BRANCHES,
    ('spg', 'vgg16'): (('features.', 'backbone.features.'), ('SPG_A_1.', 'backbone.SPG_A_1.'),
                       ('SPG_A_2.', 'backbone.SPG_A_2.'), ('SPG_A_3.0.', 'head.conv1.'),
                       ('SPG_A_3.2.', 'head.conv2.'), ('SPG_A_4.', 'head.cls_conv.')
                       ) + _SPG_BRANCHES,
    ('spg', 'inception_v3'): _INCEPTION_TRUNK + (
        ('SPG_A3_1b.0.', 'head.conv1.'), ('SPG_A3_2b.0.', 'head.conv2.'),
        ('SPG_A4.', 'head.cls_conv.')) + _SPG_BRANCHES,
}


def detect_method(state: Dict[str, torch.Tensor]) -> str:
    """``acol`` / ``spg`` from their own layers, else ``cam`` (CAM-architecture methods)."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if any(k.startswith('classifier_A.') for k in keys):
        return 'acol'
    if any(k.startswith('SPG_C.') for k in keys):
        return 'spg'
    return 'cam'


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
    if any(k.startswith(('conv6.', 'features.')) for k in keys):  # features.: ACoL / SPG
        return 'vgg16'
    if any(k.startswith('layer4.') for k in keys):
        return 'resnet50'
    raise ConversionError('cannot recognise the architecture from the checkpoint keys '
                   f'{keys[:5]}...; pass --arch resnet50|vgg16|inception_v3')


def convert_wsolevaluation(checkpoint: dict, arch: Optional[str] = None,
                           method: Optional[str] = None) -> Dict[str, dict]:
    """Convert an official checkpoint (the saved dict, or a bare state dict).

    Args:
        checkpoint (dict): ``{'state_dict': ..., 'architecture': ...}`` or a state dict.
        arch (str, optional): ``resnet50``, ``vgg16`` or ``inception_v3``;
            default from ``checkpoint['architecture']`` or the key names.
        method (str, optional): ``cam`` (also has / cutmix / adl / crop), ``acol`` or
            ``spg``; default from the key names (:func:`detect_method`).

    Returns:
        dict: ``{'state_dict': OrderedDict, 'meta': {...}}`` loadable by mmengine
        (``load_from``) into ``CAMLocalizer`` with ``ResNetCAM(depth=50)`` /
        ``VGG16CAM`` + ``CAMHead`` or ``InceptionV3CAM`` + ``ConvClassMapHead``
        (cam), into the ``configs/acol`` / ``configs/spg`` models (acol, spg).

        ADL checkpoints (the released ``ResNetAdl`` / ``VggCam`` with ADL layers,
        recognised by their shifted indices) load into the same models built with
        ``adl=...`` (``configs/adl``); ``meta['layout']`` says which layout was read.

    Raises:
        ConversionError: (a ``KeyError``) an unknown architecture or method, or a key that
            no rule consumes.
    """
    state = checkpoint.get('state_dict', checkpoint)
    arch = arch or checkpoint.get('architecture') or detect_architecture(state)
    if arch not in KEY_MAPS:
        raise ConversionError(f'architecture {arch!r} is not one of {sorted(KEY_MAPS)}')
    method = method or detect_method(state)
    rules = KEY_MAPS[arch] if method == 'cam' else METHOD_KEY_MAPS.get((method, arch))
    if rules is None:
        raise ConversionError(f'method {method!r} is not one of cam, acol, spg')
    renames = adl_renames(state, arch) if method == 'cam' else {}
    out, unused = OrderedDict(), []
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        prefix = next((p for p in renames if name.startswith(p)), None)
        name = renames[prefix] + name[len(prefix):] if prefix else name
        for src, dst in rules:
            if name.startswith(src):
                out[dst + name[len(src):]] = value
                break
        else:
            unused.append(key)
    if unused:
        raise ConversionError(
            f'{len(unused)} {arch} {method} checkpoint keys have no wsol_mm counterpart: '
            f'{unused[:8]}; the CAM (cam/has/cutmix/adl/crop), ACoL and SPG networks convert')
    meta = dict(source='wsolevaluation', architecture=arch, method=method,
                layout='adl' if renames else 'cam',
                epoch=checkpoint.get('epoch') if 'state_dict' in checkpoint else None)
    return dict(state_dict=out, meta=meta)
