"""Released LCA-MD / SCM checkpoints convert to the keys of the configs' models (neck order)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from wsol_mm.models.converters import convert_lca_md, convert_scm, load_released
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
CFG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs')
C = 7


def _released_deit():
    import timm  # after wsol_mm (its compat shim must load first)
    vit = timm.create_model('deit_tiny_patch16_224', num_classes=0, img_size=32, depth=2)
    state = {f'module.{k}': v for k, v in vit.state_dict().items()}
    state['module.head.weight'] = torch.randn(C, 192, 3, 3)
    state['module.head.bias'] = torch.randn(C)
    return state


def _model(config):
    """The model of a shipped config, on a tiny DeiT (so the neck order is the config's)."""
    cfg = Config.fromfile(osp.join(CFG_DIR, config)).model
    cfg.backbone = dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2,
                        pretrained=None)
    cfg.head.update(num_classes=C, in_channels=192)
    return MODELS.build(cfg)


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
    state, dropped = convert_lca_md(load_released(str(tmp_path / 'lcamd.pth')))
    assert len(state) + len(dropped) == len(released)  # every key consumed
    assert sorted(dropped) == sorted(k[7:] for k in released if 'conv3x3.' in k or 'bn_head' in k)
    model = _model('lca_md/deit_s_cub.py')
    model.load_state_dict(state, strict=True)  # names and shapes all match
    tfcm, ssfm = model.neck
    torch.testing.assert_close(tfcm.conv.weight, released['module.tfcm.conv3x3_1.weight'])
    torch.testing.assert_close(model.head.conv.bias, released['module.head.bias'])
    assert float(ssfm.layers[1].threshold.detach()) == pytest.approx(1.6)
    assert float(ssfm.layers[0].fusion_weight.detach()) == pytest.approx(1.5)


def test_scm_release_converts_and_loads_strictly():
    released = _released_deit()
    for i in range(4):
        released[f'module.layers.{i}.thred'] = torch.tensor([0.5 + i])
        released[f'module.layers.{i}.fuse._loss_rate'] = torch.tensor([1.0 - 0.1 * i])
    state = convert_scm(released)
    assert len(state) == len(released)
    model = _model('scm/deit_s_cub.py')
    model.load_state_dict(state, strict=True)
    ssfm, = model.neck
    assert float(ssfm.layers[3].threshold.detach()) == pytest.approx(3.5)
    assert float(ssfm.layers[2].fusion_weight.detach()) == pytest.approx(0.8)
    torch.testing.assert_close(model.backbone.blocks[1].attn.qkv.weight,
                               released['module.blocks.1.attn.qkv.weight'])


def test_unknown_module_keys_are_rejected():
    released = _released_deit()
    released['module.layers.0.encoder.weight'] = torch.randn(2)
    with pytest.raises(KeyError, match='layers.0.encoder.weight'):
        convert_lca_md(released)
    # An LCA-MD checkpoint is not an SCM one: its TFCM keys are refused.
    released = _released_deit()
    released['module.tfcm.conv3x3_1.weight'] = torch.randn(C, C, 3, 3)
    with pytest.raises(KeyError, match='tfcm.conv3x3_1.weight'):
        convert_scm(released)
