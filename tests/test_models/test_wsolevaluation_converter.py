"""Official-format state dicts (names of wsolevaluation's VggCam / ResNetCam /
InceptionCam, re-created here) convert to strict-loadable wsol_mm state dicts."""
import subprocess
import sys

import pytest
import torch
import torch.nn as nn

import wsol_mm  # noqa: F401
from wsol_mm.models import VGG16CAM, CAMLocalizer, InceptionV3CAM
from wsol_mm.models.converters import convert_wsolevaluation
from wsol_mm.utils import register_all_modules

register_all_modules()
C = 7


def _official_vgg() -> dict:
    net = nn.Module()
    net.features = VGG16CAM().features  # same indices as VggCam's make_layers('14x14')
    net.conv6 = nn.Conv2d(512, 1024, 3, padding=1)
    net.fc = nn.Linear(1024, C)
    return net.state_dict()


def _official_resnet() -> dict:
    import torchvision  # after wsol_mm (compat shim)
    return torchvision.models.resnet50(weights=None, num_classes=C).state_dict()


def _official_inception() -> dict:
    net = InceptionV3CAM()  # trunk names equal InceptionCam's
    net.SPG_A3_1b = nn.Sequential(nn.Conv2d(768, 1024, 3, padding=1), nn.ReLU(True))
    net.SPG_A3_2b = nn.Sequential(nn.Conv2d(1024, 1024, 3, padding=1), nn.ReLU(True))
    net.SPG_A4 = nn.Conv2d(1024, C, 1)
    return net.state_dict()


CASES = {
    'vgg16': (_official_vgg, dict(type='VGG16CAM'), dict(type='CAMHead', in_channels=1024)),
    'resnet50': (_official_resnet, dict(type='ResNetCAM', depth=50),
                 dict(type='CAMHead', in_channels=2048)),
    'inception_v3': (_official_inception, dict(type='InceptionV3CAM'),
                     dict(type='ConvClassMapHead', in_channels=768)),
}


@pytest.mark.parametrize('arch, data_parallel', [('vgg16', True), ('resnet50', False),
                                                  ('inception_v3', True)])
def test_convert_and_load_strict(arch, data_parallel):
    make, backbone, head = CASES[arch]
    with torch.device('meta'):  # names and shapes only: fast
        state = make()
    src = next(k for k in state if k.endswith(('fc.weight', 'SPG_A4.weight')))
    state[src] = torch.randn(state[src].shape)  # one real tensor to follow through
    if data_parallel:
        state = {f'module.{k}': v for k, v in state.items()}
        src = f'module.{src}'
    ckpt = dict(architecture=arch if data_parallel else None, epoch=50, state_dict=state,
                optimizer={})
    out = convert_wsolevaluation(ckpt)
    assert len(out['state_dict']) == len(state)  # every key consumed once
    with torch.device('meta'):
        model = CAMLocalizer(backbone=backbone, head=dict(head, num_classes=C))
    # strict: every wsol_mm key filled, no key left over (assign: meta params take the values)
    model.load_state_dict(out['state_dict'], strict=True, assign=True)
    head_w = model.head.fc.weight if arch != 'inception_v3' else model.head.cls_conv.weight
    assert torch.equal(head_w, state[src]) and out['meta']['epoch'] == 50


def test_unknown_key_is_reported():
    with torch.device('meta'):
        state = _official_vgg()
    state['SPG_B_1a.0.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='SPG_B_1a'):
        convert_wsolevaluation(dict(state_dict=state))


def test_cli(tmp_path):
    src, dst = tmp_path / 'last_checkpoint.pth.tar', tmp_path / 'out.pth'
    tiny = {k: torch.zeros(1) for k in ('features.0.weight', 'conv6.weight', 'fc.weight')}
    torch.save(dict(architecture='vgg16', epoch=1, state_dict=tiny), src)
    res = subprocess.run([sys.executable, 'tools/model_converters/wsolevaluation_to_wsol_mm.py',
                          str(src), str(dst)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert 'head.fc.weight' in torch.load(dst, weights_only=False)['state_dict']
