"""Bridging-the-Gap checkpoints in the released key layout load strictly after conversion.

The released networks are rebuilt here from their description (``wsol/resnet.py``
``ResNetDrop``: layer4 split into ``layer4_1`` (1 block) and ``layer4_2`` (2 blocks);
``wsol/vgg.py`` ``VggDrop``: ``features`` = ModuleList[convs to conv4_3, AttentiveDrop,
(pool4) conv5_*]) with random weights, so a misplaced key shows as a wrong value.
"""
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from script_runner import run_script

from wsol_mm.apis.preflight import drop_pretrained
from wsol_mm.models.converters import ConversionError, convert_bridging_gap, detect_layout
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
register_all_modules()


def _model(config: str, **backbone) -> nn.Module:
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    drop_pretrained(cfg.model)
    cfg.model.backbone.update(backbone)
    return MODELS.build(cfg.model).double()


def _randomise(module: nn.Module) -> None:
    gen = torch.Generator().manual_seed(3)
    for name, tensor in module.state_dict().items():
        if tensor.is_floating_point():
            value = torch.randn(tensor.shape, generator=gen, dtype=tensor.dtype)
            tensor.copy_(value.abs() + 0.5 if name.endswith('running_var') else value)


class _ReleasedResNetDrop(nn.Module):
    """Module names of the released ResNetDrop around wsol_mm's trunk (same strides)."""

    def __init__(self, trunk: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = trunk.stem[0], trunk.stem[1]
        self.layer1, self.layer2, self.layer3 = trunk.layer1, trunk.layer2, trunk.layer3
        self.layer4_1 = nn.Sequential(trunk.layer4[0])
        self.layer4_2 = nn.Sequential(*trunk.layer4[1:])
        self.fc = nn.Linear(2048, num_classes).double()

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(trunk_stem(self, x))))
        return self.layer4_2(self.layer4_1(x))


def trunk_stem(net, x):
    return nn.functional.max_pool2d(torch.relu(net.bn1(net.conv1(x))), 3, 2, 1)


def _released_vgg_drop(large_feature_map: bool, num_classes: int) -> nn.Module:
    """VggDrop: 'D' after conv4_3 splits `features`; 14x14 keeps pool4 after it."""
    plan = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'D'] + \
        ([512, 512, 512] if large_feature_map else ['M', 512, 512, 512])
    groups, layers, channels = [], [], 3
    for item in plan:
        if item == 'D':
            groups += [nn.Sequential(*layers), nn.Identity()]  # AttentiveDrop: no parameters
            layers = []
        elif item == 'M':
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
            channels = item
    net = nn.Module()
    net.features = nn.ModuleList(groups + [nn.Sequential(*layers)])
    net.conv6 = nn.Conv2d(512, 1024, 3, padding=1)
    net.fc = nn.Linear(1024, num_classes)
    return net.double()


def test_resnet_drop_converts_strictly_with_the_same_outputs():
    model = _model('bridging_gap/resnet50_cub.py')
    released = _ReleasedResNetDrop(_model('bridging_gap/resnet50_cub.py').backbone, 200)
    _randomise(released)
    state = released.state_dict()
    assert {k.split('.')[0] for k in state} >= {'layer4_1', 'layer4_2'}
    assert detect_layout(state) == 'resnet50_drop'
    converted = convert_bridging_gap(dict(state_dict=state))
    model.load_state_dict(converted['state_dict'], strict=True)
    torch.testing.assert_close(model.backbone.layer4[2].conv1.weight,
                               state['layer4_2.1.conv1.weight'])
    torch.testing.assert_close(model.head.fc.weight, state['fc.weight'])
    model.eval(), released.eval()
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    torch.testing.assert_close(model.backbone(x)[-1], released(x))


@pytest.mark.parametrize('large_feature_map', [False, True])
def test_vgg_drop_converts_strictly_with_the_same_outputs(large_feature_map):
    model = _model('bridging_gap/vgg16_cub.py', large_feature_map=large_feature_map)
    released = _released_vgg_drop(large_feature_map, 200)
    _randomise(released)
    state = {f'module.{k}': v for k, v in released.state_dict().items()}  # DataParallel too
    converted = convert_bridging_gap(dict(state_dict=state))
    assert converted['meta']['feature_map'] == ('28x28' if large_feature_map else '14x14')
    model.load_state_dict(converted['state_dict'], strict=True)
    x = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    feats = released.features[2](released.features[0](x))
    expected = torch.relu(released.conv6(feats))
    torch.testing.assert_close(model.backbone(x)[-1], expected)


def test_plain_cam_layout_converts_and_bad_keys_fail():
    model = _model('bridging_gap/vgg16_cub.py')
    plain = {k.replace('backbone.', '').replace('head.', ''): v
             for k, v in model.state_dict().items()}
    assert detect_layout(plain) == 'vgg16'
    model.load_state_dict(convert_bridging_gap(plain)['state_dict'], strict=True)
    released = _released_vgg_drop(False, 200).state_dict()
    with pytest.raises(ConversionError, match='features.3'):
        convert_bridging_gap(dict(released, **{'features.3.0.weight': torch.zeros(1)}))
    with pytest.raises(ConversionError, match='layer4_3'):
        convert_bridging_gap({'layer4_1.0.conv1.weight': torch.zeros(1),
                              'layer4_3.0.conv1.weight': torch.zeros(1)})
    with pytest.raises(ConversionError, match='extra'):
        convert_bridging_gap(dict(released, **{'extra.weight': torch.zeros(1)}))
    with pytest.raises(ConversionError, match='cannot recognise'):
        convert_bridging_gap({'foo.weight': torch.zeros(1)})


def test_tool_writes_a_loadable_checkpoint_and_reports_bad_files(tmp_path):
    released = _released_vgg_drop(False, 200)
    torch.save({'state_dict': released.state_dict()}, tmp_path / 'brid.pth')
    run = [sys.executable, 'tools/model_converters/bridging_gap_to_wsol_mm.py']
    res = run_script(run + [str(tmp_path / 'brid.pth'), str(tmp_path / 'out.pth')],
                     timeout=300)
    assert res.returncode == 0 and 'vgg16_drop (14x14 maps)' in res.stdout, res.stderr
    model = _model('bridging_gap/vgg16_cub.py')
    out = torch.load(tmp_path / 'out.pth', weights_only=True)
    model.load_state_dict(out['state_dict'], strict=True)
    torch.save({'state_dict': {'foo.weight': torch.zeros(1)}}, tmp_path / 'bad.pth')
    res = run_script(run + [str(tmp_path / 'bad.pth'), str(tmp_path / 'bad_out.pth')],
                     timeout=300)
    assert res.returncode == 1 and 'Traceback' not in res.stderr
    assert res.stderr.startswith('bridging_gap_to_wsol_mm.py: error: cannot recognise')
    assert not osp.exists(tmp_path / 'bad_out.pth')
