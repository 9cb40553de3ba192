import pytest
import torch

from wsol_mm.models.backbones import Conformer
from wsol_mm.models.heads import ConformerCAMHead
from wsol_mm.utils import register_all_modules

register_all_modules()


def test_conformer_shapes_rows_and_head():
    torch.manual_seed(0)
    model = Conformer('small', depth=3, drop_path_rate=0.0).eval()
    # Units follow the release: trans_1 + conv_trans_2..depth (last one fuses with stride 2).
    assert model.unit_names == ['conv_trans_2', 'conv_trans_3']
    assert model.conv_trans_3.fusion_block.res_conv
    x = torch.rand(2, 3, 64, 64)
    patch_map, cls_attn, cnn_map = model(x)
    assert patch_map.shape == (2, 384, 4, 4)
    assert cls_attn.shape == (2, 3, 16)
    assert cnn_map.shape == (2, 1024, 2, 2)
    assert torch.all(cls_attn.sum(-1) < 1) and torch.all(cls_attn > 0)
    # Row mode equals the full-attention mode.
    model.attn_mode = 'full'
    p_full, a_full, c_full = model(x)
    assert (a_full - cls_attn).abs().max() < 1e-6
    torch.testing.assert_close(p_full, patch_map, atol=1e-4, rtol=1e-4)
    head = ConformerCAMHead(num_classes=5, in_channels=384, cnn_channels=1024)
    feats = (patch_map, cls_attn, cnn_map)
    logits = head(feats)
    expected = head.conv(patch_map).mean((2, 3)) + head.fc(cnn_map.mean((2, 3)))
    torch.testing.assert_close(logits, expected)
    assert head.forward_maps(feats).maps(torch.tensor([[1], [4]])).shape == (2, 1, 4, 4)


def test_conformer_checkpoint_roundtrip(tmp_path):
    torch.manual_seed(1)
    ref = Conformer('small', depth=3)
    state = {f'module.{k}': v for k, v in ref.state_dict().items()}
    state['module.trans_cls_head.weight'] = torch.zeros(1000, 384, 3, 3)  # dropped
    torch.save({'model': state}, tmp_path / 'conformer.pth')
    model = Conformer('small', depth=3, pretrained=str(tmp_path / 'conformer.pth'))
    model.init_weights()
    torch.testing.assert_close(model.conv_trans_2.trans_block.attn.qkv.weight,
                               ref.conv_trans_2.trans_block.attn.qkv.weight)
    with pytest.raises(KeyError, match='depth 6'):
        Conformer('small', depth=6, pretrained=str(tmp_path / 'conformer.pth'))
    with pytest.raises(ValueError, match='multiple of 3'):
        Conformer(depth=4)
