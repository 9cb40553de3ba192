import importlib.util
import os.path as osp

import pytest
import torch

from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
_DIR = osp.join(osp.dirname(__file__), '..', '..', 'tools', 'model_converters')


def _load(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(_DIR, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lca_md = _load('lca_md_to_wsol_mm')
scm = _load('scm_to_wsol_mm')
C = 7


def _released_deit():
    import timm  # after wsol_mm (its compat shim must load first)
    vit = timm.create_model('deit_tiny_patch16_224', num_classes=0, img_size=32, depth=2)
    state = {f'module.{k}': v for k, v in vit.state_dict().items()}
    state['module.head.weight'] = torch.randn(C, 192, 3, 3)
    state['module.head.bias'] = torch.randn(C)
    return state


def _model(kind):
    backbone = dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2,
                    pretrained=None)
    head = dict(type='ConvCAMHead', num_classes=C, in_channels=192)
    return MODELS.build(dict(type=kind, backbone=backbone, head=head))


def test_lca_md_release_converts_and_loads_strictly(tmp_path):
    released = _released_deit()
    released['module.tfcm.conv3x3_1.weight'] = torch.randn(C, C, 3, 3)
    released['module.tfcm.conv3x3_1.bias'] = torch.randn(C)
    # Unused released layers: a 1->1 conv and BatchNorm2d(1).
    released['module.tfcm.conv3x3.weight'] = torch.randn(1, 1, 3, 3)
    released['module.tfcm.conv3x3.bias'] = torch.randn(1)
    for name, shape in (('weight', 1), ('bias', 1), ('running_mean', 1), ('running_var', 1)):
        released[f'module.tfcm.bn_head.{name}'] = torch.randn(shape)
    released['module.tfcm.bn_head.num_batches_tracked'] = torch.tensor(5)
    for i in range(2):
        released[f'module.layers.{i}.thred'] = torch.tensor(0.6 + i)  # 0-d scalars
        released[f'module.layers.{i}.ssfm._loss_rate'] = torch.tensor([1.5 + i])
    torch.save(dict(epoch=3, state_dict=released, best_map=0.9), tmp_path / 'lcamd.pth')
    state, dropped = lca_md.convert(lca_md.tscam.load_released(str(tmp_path / 'lcamd.pth')))
    assert len(state) + len(dropped) == len(released)  # every key consumed
    assert sorted(dropped) == sorted(k[7:] for k in released if 'conv3x3.' in k or 'bn_head' in k)
    model = _model('LCAMD')
    model.load_state_dict(state, strict=True)  # names and shapes all match
    torch.testing.assert_close(model.tfcm.conv.weight, released['module.tfcm.conv3x3_1.weight'])
    torch.testing.assert_close(model.head.conv.bias, released['module.head.bias'])
    assert float(model.ssfm.layers[1].threshold) == pytest.approx(1.6)
    assert float(model.ssfm.layers[0].fusion_weight) == pytest.approx(1.5)


def test_scm_release_converts_and_loads_strictly():
    released = _released_deit()
    for i in range(4):
        released[f'module.layers.{i}.thred'] = torch.tensor([0.5 + i])
        released[f'module.layers.{i}.fuse._loss_rate'] = torch.tensor([1.0 - 0.1 * i])
    state = scm.convert(released)
    assert len(state) == len(released)
    model = _model('SCMLocalizer')
    model.load_state_dict(state, strict=True)
    assert float(model.ssfm.layers[3].threshold) == pytest.approx(3.5)
    assert float(model.ssfm.layers[2].fusion_weight) == pytest.approx(0.8)
    torch.testing.assert_close(model.backbone.blocks[1].attn.qkv.weight,
                               released['module.blocks.1.attn.qkv.weight'])


def test_unknown_module_keys_are_rejected():
    released = _released_deit()
    released['module.layers.0.encoder.weight'] = torch.randn(2)
    with pytest.raises(KeyError, match='layers.0.encoder.weight'):
        lca_md.convert(released)
    # An LCA-MD checkpoint is not an SCM one: its TFCM keys are refused.
    released = _released_deit()
    released['module.tfcm.conv3x3_1.weight'] = torch.randn(C, C, 3, 3)
    with pytest.raises(KeyError, match='tfcm.conv3x3_1.weight'):
        scm.convert(released)
