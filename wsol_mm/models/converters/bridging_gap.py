"""Bridging-the-Gap checkpoints (``ejkim47/bridging-gap-wsol``) -> wsol_mm localizer state dicts.

The release saves ``{'state_dict': model.state_dict()}`` of the unwrapped network. Its
``drop`` networks (the method) split the layers around the attentive-drop point:

* ``ResNetDrop``: ``layer4_1`` holds layer4's first block, ``layer4_2`` the other two
  (``layer4_1.0.`` = torchvision ``layer4.0.``, ``layer4_2.{0,1}.`` = ``layer4.{1,2}.``);
* ``VggDrop``: ``features`` is a list ``[convs up to conv4_3 + ReLU, AttentiveDrop (no
  parameters), (pool4) + conv5_*]``, so ``features.0.<i>`` is the plain VGG index ``i`` and
  ``features.2.<j>`` is ``23 + j`` (conv4_3's ReLU is index 22 of the plain stack, for the
  14x14 and the 28x28 variant alike).

wsol_mm's ``ResNetBridCAM`` / ``VGG16BridCAM`` keep the plain CAM names, so the converter
moves those keys back and then applies the wsolevaluation CAM rules (``conv1`` / ``bn1`` ->
``backbone.stem``, ``fc`` -> ``head.fc``, ...). The release's ``cam`` networks are already in
the CAM layout and convert too. The result loads strictly into ``configs/bridging_gap``.
"""
import re
from collections import OrderedDict
from typing import Dict, Optional

import torch

from .conversion_error import ConversionError
from .wsolevaluation import convert_wsolevaluation

# ResNetDrop block -> plain layer4 block.
_RESNET_SPLIT = (('layer4_1.0.', 'layer4.0.'), ('layer4_2.0.', 'layer4.1.'),
                 ('layer4_2.1.', 'layer4.2.'))
# VggDrop: index of features[2][0] in the plain VGG16 `features` stack (after conv4_3's ReLU).
VGG_TAIL_OFFSET = 23


def detect_layout(state: Dict[str, torch.Tensor]) -> str:
    """``'resnet50_drop'``, ``'vgg16_drop'``, ``'resnet50'`` or ``'vgg16'`` from the key names."""
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in state]
    if any(k.startswith(('layer4_1.', 'layer4_2.')) for k in keys):
        return 'resnet50_drop'
    if any(re.match(r'features\.\d+\.\d+\.', k) for k in keys):
        return 'vgg16_drop'
    if any(k.startswith('conv6.') for k in keys):
        return 'vgg16'
    if any(k.startswith('layer4.') for k in keys):
        return 'resnet50'
    raise ConversionError(f'cannot recognise a Bridging-the-Gap ResNet50 / VGG16 checkpoint from '
                          f'its keys {keys[:5]}...; expected layer4_1/layer4_2 (ResNetDrop), '
                          'features.<i>.<j> (VggDrop) or the plain CAM keys')


def _cam_name(name: str, layout: str) -> str:
    """The plain CAM name of a released key (``ConversionError`` for an unknown split key)."""
    if layout == 'resnet50_drop' and name.startswith(('layer4_1.', 'layer4_2.')):
        for src, dst in _RESNET_SPLIT:
            if name.startswith(src):
                return dst + name[len(src):]
        raise ConversionError(f'{name}: ResNetDrop has layer4_1.0 and layer4_2.{{0,1}} only')
    if layout == 'vgg16_drop' and name.startswith('features.'):
        found = re.match(r'features\.(\d+)\.(\d+)\.(.+)', name)
        if found is None or found[1] not in ('0', '2'):
            raise ConversionError(f'{name}: VggDrop has parameters in features.0 (up to conv4_3) '
                                  'and features.2 (conv5_*) only')
        index = int(found[2]) + (VGG_TAIL_OFFSET if found[1] == '2' else 0)
        return f'features.{index}.{found[3]}'
    return name


def convert_bridging_gap(checkpoint: dict, layout: Optional[str] = None) -> Dict[str, dict]:
    """Convert a released Bridging-the-Gap checkpoint (the saved dict or a bare state dict).

    Args:
        checkpoint (dict): ``{'state_dict': ...}`` or a state dict (``module.`` optional).
        layout (str, optional): ``resnet50_drop``, ``vgg16_drop``, ``resnet50`` or
            ``vgg16``; default from the key names (:func:`detect_layout`).

    Returns:
        dict: ``{'state_dict': OrderedDict, 'meta': {...}}`` for ``load_from`` /
        ``tools/test.py`` with ``configs/bridging_gap/<arch>_<dataset>.py`` (the VGG16 map
        size, 14x14 or 28x28, must match the config's ``large_feature_map``).

    Raises:
        ConversionError: an unknown layout or a key no rule consumes.
    """
    state = checkpoint.get('state_dict', checkpoint)
    layout = layout or detect_layout(state)
    if layout not in ('resnet50_drop', 'vgg16_drop', 'resnet50', 'vgg16'):
        raise ConversionError(f'layout {layout!r} is not one of resnet50_drop, vgg16_drop, '
                              'resnet50, vgg16')
    renamed = OrderedDict()
    for key, value in state.items():
        name = key[len('module.'):] if key.startswith('module.') else key
        renamed[_cam_name(name, layout)] = value
    arch = layout.split('_')[0]
    try:
        converted = convert_wsolevaluation(dict(state_dict=renamed), arch=arch, method='cam')
    except ConversionError as err:
        raise ConversionError(f'Bridging-the-Gap {layout} checkpoint: {err}') from None
    feature_map = None
    if layout == 'vgg16_drop':  # pool4 before conv5_1 (14x14) or not (28x28)
        feature_map = '14x14' if any(re.match(r'features\.2\.1\.', k) for k in
                                     (n[len('module.'):] if n.startswith('module.') else n
                                      for n in state)) else '28x28'
    converted['meta'] = dict(source='bridging-gap-wsol', architecture=arch, layout=layout,
                             feature_map=feature_map)
    return converted
