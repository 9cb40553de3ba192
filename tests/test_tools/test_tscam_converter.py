import torch

from wsol_mm.models.converters import convert_tscam, load_released
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()


def _localizer(backbone):
    return MODELS.build(dict(
        type='TSCAMLocalizer', backbone=backbone,
        head=dict(type='ConformerCAMHead', num_classes=7, in_channels=384, cnn_channels=1024)
        if backbone['type'] == 'Conformer' else
        dict(type='ConvCAMHead', num_classes=7, in_channels=192)))


def test_deit_release_converts_and_loads_strictly(tmp_path):
    import timm  # after wsol_mm (its compat shim must load first)

    # Released layout: timm-0.3 DeiT names + `head` = Conv2d(D, C, 3), DataParallel prefix.
    vit = timm.create_model('deit_tiny_patch16_224', num_classes=0, img_size=32, depth=2)
    released = {f'module.{k}': v for k, v in vit.state_dict().items()}
    released['module.head.weight'] = torch.randn(7, 192, 3, 3)
    released['module.head.bias'] = torch.randn(7)
    torch.save(dict(epoch=3, state_dict=released), tmp_path / 'tscam.pth')
    state = convert_tscam(load_released(str(tmp_path / 'tscam.pth')), 'deit')
    assert len(state) == len(released)  # every key consumed
    model = _localizer(dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2))
    model.load_state_dict(state, strict=True)  # names and shapes all match
    torch.testing.assert_close(model.head.conv.weight, released['module.head.weight'])
    torch.testing.assert_close(model.backbone.blocks[1].mlp.fc2.weight,
                               released['module.blocks.1.mlp.fc2.weight'])


def test_conformer_release_converts_and_loads_strictly():
    ref = MODELS.build(dict(type='Conformer', depth=3))
    released = {f'module.{k}': v for k, v in ref.state_dict().items()}
    released['module.trans_cls_head.weight'] = torch.randn(7, 384, 3, 3)
    released['module.trans_cls_head.bias'] = torch.randn(7)
    released['module.conv_cls_head.weight'] = torch.randn(7, 1024)
    released['module.conv_cls_head.bias'] = torch.randn(7)
    state = convert_tscam(released, 'conformer')
    model = _localizer(dict(type='Conformer', depth=3))
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.head.fc.weight, released['module.conv_cls_head.weight'])
