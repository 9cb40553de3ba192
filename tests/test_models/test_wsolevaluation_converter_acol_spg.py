"""wsolevaluation ACoL / SPG checkpoints (the released key layout, re-created here from the
released module structure) convert to strict-loadable state dicts of configs/acol, configs/spg."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shim before torchvision use)
from wsol_mm.models import InceptionV3CAM, VGG16ACoLCAM
from wsol_mm.models.converters import convert_wsolevaluation, detect_method
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
C = 7


def _conv(cin, cout, k=3):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


def _acol_branches(net: nn.Module, cin: int) -> None:
    for name in ('classifier_A', 'classifier_B'):
        setattr(net, name, nn.Sequential(_conv(cin, 1024), nn.ReLU(), _conv(1024, 1024),
                                         nn.ReLU(), _conv(1024, C, 1)))


def _spg_branches(net: nn.Module, b1: int, b2: int, branch: int, c: int) -> None:
    net.SPG_B_1a = nn.Sequential(_conv(b1, branch), nn.ReLU())
    net.SPG_B_2a = nn.Sequential(_conv(b2, branch), nn.ReLU())
    net.SPG_B_shared = nn.Sequential(_conv(branch, branch), nn.ReLU(), _conv(branch, 1, 1))
    net.SPG_C = nn.Sequential(_conv(c, 512), nn.ReLU(), _conv(512, 1, 1))


def _torchvision_resnet50() -> nn.Module:
    import torchvision
    net = torchvision.models.resnet50(weights=None)
    del net.fc
    return net


def _resnet_acol() -> nn.Module:  # ResNetAcol: ResNet50 without fc + two branches
    net = _torchvision_resnet50()
    _acol_branches(net, 2048)
    return net


def _resnet_spg() -> nn.Module:  # ResNetSpg: layer3 split into SPG_A1 / SPG_A2
    net = _torchvision_resnet50()
    blocks = list(net.layer3)  # re-indexed from 0, as the released nn.Sequential(*list)
    net.SPG_A1, net.SPG_A2 = nn.Sequential(blocks[0]), nn.Sequential(*blocks[1:])
    del net.layer3
    net.SPG_A4 = _conv(2048, C, 1)
    _spg_branches(net, 1024, 1024, 1024, 2048)
    return net


def _vgg_acol() -> nn.Module:  # VggAcol: features (released make_layers 'acol') + branches
    net = nn.Module()
    net.features = VGG16ACoLCAM().features
    _acol_branches(net, 512)
    return net


def _vgg_spg() -> nn.Module:  # VggSpg: features (conv1-3), SPG_A_1..4, B, C
    net = nn.Module()
    net.features = nn.Sequential(*[m for m in _vgg_acol().features[:17]])
    net.SPG_A_1 = nn.Sequential(_conv(256, 512), nn.ReLU(), _conv(512, 512), nn.ReLU(),
                                _conv(512, 512), nn.ReLU())
    net.SPG_A_2 = nn.Sequential(_conv(512, 512), nn.ReLU(), _conv(512, 512), nn.ReLU(),
                                _conv(512, 512), nn.ReLU())
    net.SPG_A_3 = nn.Sequential(_conv(512, 512), nn.ReLU(), _conv(512, 512), nn.ReLU())
    net.SPG_A_4 = _conv(512, C, 1)
    _spg_branches(net, 512, 512, 512, 512)
    return net


def _inception_acol() -> nn.Module:  # InceptionAcol: trunk (names as InceptionCam) + branches
    net = InceptionV3CAM()
    _acol_branches(net, 768)
    return net


def _inception_spg() -> nn.Module:
    net = InceptionV3CAM()
    net.SPG_A3_1b = nn.Sequential(_conv(768, 1024), nn.ReLU(True))
    net.SPG_A3_2b = nn.Sequential(_conv(1024, 1024), nn.ReLU(True))
    net.SPG_A4 = _conv(1024, C, 1)
    _spg_branches(net, 288, 768, 512, 1024)
    return net


# (released network, config whose model it loads into, a released key to follow through)
CASES = {
    ('acol', 'resnet50'): (_resnet_acol, 'acol/resnet50_cub.py', 'classifier_B.4.weight'),
    ('acol', 'vgg16'): (_vgg_acol, 'acol/vgg16_cub.py', 'features.28.weight'),
    ('acol', 'inception_v3'): (_inception_acol, 'acol/inception_v3_cub.py',
                               'classifier_A.0.weight'),
    ('spg', 'resnet50'): (_resnet_spg, 'spg/resnet50_cub.py', 'SPG_A2.4.conv3.weight'),
    ('spg', 'vgg16'): (_vgg_spg, 'spg/vgg16_cub.py', 'SPG_A_3.2.weight'),
    ('spg', 'inception_v3'): (_inception_spg, 'spg/inception_v3_cub.py', 'SPG_B_2a.0.weight'),
}
FOLLOW = {'classifier_B.4.weight': 'head.classifier_B.4.weight',
          'features.28.weight': 'backbone.features.28.weight',
          'classifier_A.0.weight': 'head.classifier_A.0.weight',
          'SPG_A2.4.conv3.weight': 'backbone.layer3.5.conv3.weight',
          'SPG_A_3.2.weight': 'head.conv2.weight',
          'SPG_B_2a.0.weight': 'methods.0.SPG_B_2a.0.weight'}


def _model_of(config: str) -> nn.Module:
    model = copy.deepcopy(Config.fromfile(osp.join(REPO, 'configs', config)).model)
    model.backbone.pretrained = None
    model.head.num_classes = C
    with torch.device('meta'):
        return MODELS.build(model)


@pytest.mark.parametrize('method, arch', sorted(CASES))
def test_convert_and_load_strict(method, arch):
    make, config, follow = CASES[(method, arch)]
    with torch.device('meta'):  # names and shapes only: fast
        state = make().state_dict()
    state[follow] = torch.randn(state[follow].shape)
    state = {f'module.{k}': v for k, v in state.items()}  # trained under DataParallel
    assert detect_method(state) == method
    out = convert_wsolevaluation(dict(architecture=arch, epoch=3, state_dict=state))
    assert len(out['state_dict']) == len(state)  # every key consumed once
    assert out['meta']['method'] == method and out['meta']['architecture'] == arch
    model = _model_of(config)
    model.load_state_dict(out['state_dict'], strict=True, assign=True)
    assert torch.equal(model.state_dict()[FOLLOW[follow]], state[f'module.{follow}'])


def test_architecture_and_method_from_the_keys():
    with torch.device('meta'):
        vgg_spg = _vgg_spg().state_dict()
    out = convert_wsolevaluation(vgg_spg)  # no 'architecture' entry: from the key names
    assert out['meta']['architecture'] == 'vgg16' and out['meta']['method'] == 'spg'
    with pytest.raises(KeyError, match='classifier_A'):  # forced as CAM: keys left over
        convert_wsolevaluation(vgg_spg | {'classifier_A.0.weight': torch.zeros(1)},
                               method='spg')
    with pytest.raises(KeyError, match='method'):
        convert_wsolevaluation(vgg_spg, method='adl2')
