"""Released HaS / CutMix / ADL checkpoints (state dicts generated in wsolevaluation's key
layout: ResNetAdl and VGG16-ADL shift the indices of their nn.Sequential) convert and load
strictly into the models of configs/{has,cutmix,adl}."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

import wsol_mm  # noqa: F401
from wsol_mm.models import InceptionV3CAM
from wsol_mm.models.converters import convert_wsolevaluation
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C = 7


def _released_vgg(layout: str) -> dict:
    """VggCam with wsolevaluation's `features` list: c conv+ReLU, M pool, A ADL (no params)."""
    layers, channels = [], [64, 64, 128, 128, 256, 256, 256] + [512] * 6
    cin = 3
    for token in layout:
        if token == 'c':
            cout = channels.pop(0)
            layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(True)]
            cin = cout
        else:
            layers.append(nn.MaxPool2d(2) if token == 'M' else nn.Identity())
    net = nn.Module()
    net.features = nn.Sequential(*layers)
    net.conv6 = nn.Conv2d(512, 1024, 3, padding=1)
    net.fc = nn.Linear(1024, C)
    return net.state_dict()


def _released_resnet_adl() -> dict:
    """ResNetAdl: torchvision ResNet50 with an ADL inserted after layer3.0, layer4.0, layer4.2."""
    import torchvision  # after wsol_mm (compat shim)
    net = torchvision.models.resnet50(weights=None, num_classes=C)
    net.layer3 = nn.Sequential(net.layer3[0], nn.Identity(), *net.layer3[1:])
    net.layer4 = nn.Sequential(net.layer4[0], nn.Identity(), net.layer4[1], net.layer4[2],
                               nn.Identity())
    return net.state_dict()


def _released_inception() -> dict:
    net = InceptionV3CAM()  # trunk names equal InceptionAdl's (its ADLs have no params)
    net.SPG_A3_1b = nn.Sequential(nn.Conv2d(768, 1024, 3, padding=1), nn.ReLU(True))
    net.SPG_A3_2b = nn.Sequential(nn.Conv2d(1024, 1024, 3, padding=1), nn.ReLU(True))
    net.SPG_A4 = nn.Conv2d(1024, C, 1)
    return net.state_dict()


# (config, released state dict, (released key, wsol_mm key) to follow, layout)
CASES = {
    'adl_resnet50': ('adl/resnet50_cub.py', _released_resnet_adl,
                     ('layer4.3.conv1.weight', 'backbone.layer4.2.conv1.weight'), 'adl'),
    'adl_vgg16_14': ('adl/vgg16_cub.py', lambda: _released_vgg('ccMccMcccMAcccAMcccA'),
                     ('features.30.weight', 'backbone.features.28.weight'), 'adl'),
    'adl_vgg16_28': ('adl/vgg16_cub.py', lambda: _released_vgg('ccMccMcccMAcccAcccA'),
                     ('features.18.weight', 'backbone.features.17.weight'), 'adl'),
    'adl_inception_v3': ('adl/inception_v3_cub.py', _released_inception,
                         ('SPG_A3_2b.0.weight', 'head.conv2.weight'), 'cam'),
    'has_vgg16': ('has/vgg16_cub.py', lambda: _released_vgg('ccMccMcccMcccMccc'),
                  ('features.28.weight', 'backbone.features.28.weight'), 'cam'),
    'cutmix_inception_v3': ('cutmix/inception_v3_cub.py', _released_inception,
                            ('SPG_A4.weight', 'head.cls_conv.weight'), 'cam'),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_released_checkpoint_loads_strictly(case):
    config, make, (src, dst), layout = CASES[case]
    with torch.device('meta'):  # names and shapes only: fast
        state = make()
    state[src] = torch.randn(state[src].shape)  # one real tensor to follow through
    ckpt = dict(architecture=None, epoch=40, state_dict={f'module.{k}': v
                                                         for k, v in state.items()})
    out = convert_wsolevaluation(ckpt)
    assert len(out['state_dict']) == len(state) and out['meta']['layout'] == layout
    cfg = Config.fromfile(osp.join(REPO, 'configs', config)).model
    cfg.backbone.pretrained = None
    cfg.head.num_classes = C
    if '28' in case:
        cfg.backbone.large_feature_map = True
    with torch.device('meta'):
        model = MODELS.build(cfg)
    model.load_state_dict(out['state_dict'], strict=True, assign=True)
    assert torch.equal(model.state_dict()[dst], state[src])


def test_plain_layouts_are_left_alone():
    with torch.device('meta'):
        plain = _released_vgg('ccMccMcccMcccMccc')
    assert convert_wsolevaluation(plain, 'vgg16')['meta']['layout'] == 'cam'
