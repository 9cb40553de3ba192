"""Checkpoints of wsolevaluation-based code (wsolevaluation CAM / ACoL / SPG,
Small-Object-Matters CropCAM) -> wsol_mm localizer state dicts.

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


def detect_architecture(state: Dict[str, torch.Tensor]) -> str:
    """Guess ``resnet50`` / ``vgg16`` / ``inception_v3`` from the key names."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if any(k.startswith('Mixed_') for k in keys):
        return 'inception_v3'
    if any(k.startswith(('conv6.', 'features.')) for k in keys):  # features.: ACoL / SPG
        return 'vgg16'
    if any(k.startswith('layer4.') for k in keys):
        return 'resnet50'
    raise KeyError('cannot recognise the architecture from the checkpoint keys '
                   f'{keys[:5]}...; pass --arch resnet50|vgg16|inception_v3')


def convert_wsolevaluation(checkpoint: dict, arch: Optional[str] = None,
                           method: Optional[str] = None) -> Dict[str, dict]:
    """Convert an official checkpoint (the saved dict, or a bare state dict).

    Args:
        checkpoint (dict): ``{'state_dict': ..., 'architecture': ...}`` or a state dict.
        arch (str, optional): ``resnet50``, ``vgg16`` or ``inception_v3``;
            default from ``checkpoint['architecture']`` or the key names.
        method (str, optional): ``cam`` (also has / cutmix / crop), ``acol`` or ``spg``;
            default from the key names (:func:`detect_method`).

    Returns:
        dict: ``{'state_dict': OrderedDict, 'meta': {...}}`` loadable by mmengine
        (``load_from``) into ``CAMLocalizer`` with ``ResNetCAM(depth=50)`` /
        ``VGG16CAM`` + ``CAMHead`` or ``InceptionV3CAM`` + ``ConvClassMapHead``
        (cam), into the ``configs/acol`` / ``configs/spg`` models (acol, spg).

    Raises:
        KeyError: a key that no rule consumes (e.g. an ADL variant).
    """
    state = checkpoint.get('state_dict', checkpoint)
    arch = arch or checkpoint.get('architecture') or detect_architecture(state)
    if arch not in KEY_MAPS:
        raise KeyError(f'architecture {arch!r} is not one of {sorted(KEY_MAPS)}')
    method = method or detect_method(state)
    rules = KEY_MAPS[arch] if method == 'cam' else METHOD_KEY_MAPS.get((method, arch))
    if rules is None:
        raise KeyError(f'method {method!r} is not one of cam, acol, spg')
    out, unused = OrderedDict(), []
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        for src, dst in rules:
            if name.startswith(src):
                out[dst + name[len(src):]] = value
                break
        else:
            unused.append(key)
    if unused:
        raise KeyError(f'{len(unused)} {arch} {method} checkpoint keys have no wsol_mm '
                       f'counterpart: {unused[:8]}; the CAM (cam/has/cutmix/crop), ACoL and SPG '
                       'networks convert')
    meta = dict(source='wsolevaluation', architecture=arch, method=method,
                epoch=checkpoint.get('epoch') if 'state_dict' in checkpoint else None)
    return dict(state_dict=out, meta=meta)
