import os

import pytest
import torch

from wsol_mm.models.backbones import VisionTransformer
from wsol_mm.utils import register_all_modules

os.environ.setdefault('HF_HUB_OFFLINE', '1')
register_all_modules()


def _tiny(**kwargs) -> VisionTransformer:
    # DeiT-T geometry, 3 blocks, 32 px input (2x2 patches): fast on CPU.
    cfg = dict(arch='deit_t', img_size=32, depth=3, drop_path_rate=0.0)
    cfg.update(kwargs)
    return VisionTransformer(**cfg)


def _explicit_cls_rows(model: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """Head-mean cls rows from the full N x N attention, computed by hand."""
    tokens = model.embed(x)
    rows = []
    for block in model.blocks:
        attn = block.attn
        b, n, d = tokens.shape
        qkv = attn.qkv(block.norm1(tokens)).reshape(b, n, 3, attn.num_heads, -1)
        q, k, _ = qkv.permute(2, 0, 3, 1, 4)
        full = torch.softmax(q @ k.transpose(-2, -1) / (d // attn.num_heads)**0.5, dim=-1)
        rows.append(full.mean(dim=1)[:, 0, 1:])
        tokens = block(tokens)  # timm's own forward (fused attention)
    return torch.stack(rows, dim=1)


def test_shapes_and_timm_equivalence():
    torch.manual_seed(0)
    model = _tiny().eval()
    x = torch.rand(2, 3, 32, 32)
    patch_map, cls_attn = model(x)
    assert patch_map.shape == (2, 192, 2, 2)
    assert cls_attn.shape == (2, 3, 4)
    # Patch map equals timm's own blocks + final norm, reshaped raster-order.
    tokens = model.embed(x)
    for block in model.blocks:
        tokens = block(tokens)
    ref = model.norm(tokens)[:, 1:].transpose(1, 2).reshape(2, 192, 2, 2)
    torch.testing.assert_close(patch_map, ref, atol=1e-5, rtol=1e-5)
    # Without the attention output only the map is returned.
    model.with_cls_attention = False
    out = model(x)
    assert len(out) == 1
    torch.testing.assert_close(out[0], patch_map, atol=1e-5, rtol=1e-5)


def test_cls_row_equals_full_attention_row_and_has_gradient():
    torch.manual_seed(1)
    model = _tiny().eval()
    x = torch.rand(2, 3, 32, 32)
    _, rows = model(x)
    expected = _explicit_cls_rows(model, x)
    assert (rows - expected).abs().max() < 1e-6
    # The full-attention mode (benchmark) gives the same rows.
    model.attn_mode = 'full'
    _, rows_full = model(x)
    assert (rows_full - expected).abs().max() < 1e-6
    model.attn_mode = 'row'
    # The rows are differentiable w.r.t. every block's qkv projection.
    _, rows = model(x)
    rows[:, 0].sum().backward()
    assert model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    # Softmax rows without the cls->cls entry: positive, summing to less than one.
    assert torch.all(rows > 0) and torch.all(rows.sum(-1) < 1)


def test_local_checkpoint_survives_init_weights(tmp_path):
    import timm
    torch.manual_seed(2)
    ref = timm.create_model('deit_tiny_patch16_224', img_size=32, depth=3)
    path = tmp_path / 'deit_tiny.pth'
    # DeiT release format: {'model': state_dict} with the classifier included.
    torch.save({'model': {f'module.{k}': v for k, v in ref.state_dict().items()}}, path)
    model = _tiny(pretrained=str(path))
    model.init_weights()
    torch.testing.assert_close(model.blocks[1].attn.qkv.weight, ref.blocks[1].attn.qkv.weight)
    torch.testing.assert_close(model.pos_embed, ref.pos_embed)
    # A mismatching file fails with a message naming it.
    torch.save({'model': {'blocks.0.foo': torch.zeros(1)}}, tmp_path / 'bad.pth')
    with pytest.raises(KeyError, match='bad.pth'):
        _tiny(pretrained=str(tmp_path / 'bad.pth'))
    with pytest.raises(FileNotFoundError):
        _tiny(pretrained=str(tmp_path / 'missing.pth'))


def test_legacy_vit_small_geometry_and_errors():
    model = VisionTransformer('vit_s_legacy', img_size=32, depth=1)
    fmap, attn = model(torch.rand(1, 3, 32, 32))
    assert fmap.shape == (1, 768, 2, 2) and attn.shape == (1, 1, 4)
    assert model.qk_scale == pytest.approx(768**-0.5)
    with pytest.raises(ValueError, match='arch'):
        VisionTransformer('deit_xxl')
    with pytest.raises(ValueError, match='attn_mode'):
        _tiny(attn_mode='half')
