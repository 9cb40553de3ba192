"""block_with_cls_attention: timm's block values, and stochastic depth on the kept samples only."""
import pytest
import torch
import torch.nn as nn

import wsol_mm.compat  # noqa: F401  (torchvision ops shim before timm)
from wsol_mm.models.backbones import VisionTransformer
from wsol_mm.models.utils.cls_attention import block_with_cls_attention

BATCH, DROP = 16, 0.5
# float32 products of 192 terms, summed in another order (oneDNN / fewer rows): a few ulps
TOL = dict(rtol=1e-5, atol=2e-5)
SCALE = 64**-0.5  # DeiT-T: 3 heads of 64


def _block(drop_path: float = DROP, **kwargs) -> nn.Module:
    vit = VisionTransformer('deit_t', img_size=32, depth=2, drop_path_rate=drop_path,
                            **kwargs)
    return vit.blocks[1].train()  # linear schedule over 2 blocks: block 1 has drop_path


def _batches_seen(block: nn.Module) -> dict:
    """Record the batch size reaching the qkv, proj and fc1 layers (a hook makes
    ``onednn_linear`` call the layer as a module, same products)."""
    seen = {}
    for name, layer in (('qkv', block.attn.qkv), ('proj', block.attn.proj),
                        ('fc1', block.mlp.fc1)):
        layer.register_forward_hook(
            lambda m, args, out, name=name: seen.__setitem__(name, args[0].shape[0]))
    return seen


def _timm_masks(seed: int) -> tuple:
    """The two stochastic-depth masks timm's block draws after ``manual_seed(seed)``."""
    torch.manual_seed(seed)
    return tuple(torch.empty(BATCH, 1, 1).bernoulli_(1 - DROP).view(-1) for _ in range(2))


@pytest.mark.parametrize('with_row', [False, True])
def test_equal_to_timm_with_the_same_random_numbers(with_row):
    """Kept samples: timm's values and gradients; dropped ones: the input; the generator
    ends where timm's block leaves it."""
    torch.manual_seed(0)
    block = _block()
    x = torch.randn(BATCH, 5, 192, requires_grad=True)
    grad = torch.randn(BATCH, 5, 192)
    torch.manual_seed(3)
    ref = block(x)  # timm's own forward: DropPath multiplies every branch by its mask
    ref.backward(grad)
    ref_grads = [x.grad.clone()] + [p.grad.clone() for p in block.parameters()]
    after_timm = torch.rand(4)
    x.grad = None
    block.zero_grad(set_to_none=True)
    torch.manual_seed(3)
    out, row = block_with_cls_attention(block, x, SCALE, with_row=with_row)
    out.backward(grad)
    assert torch.equal(torch.rand(4), after_timm)
    torch.testing.assert_close(out, ref, **TOL)
    for got, want in zip([x.grad] + [p.grad for p in block.parameters()], ref_grads):
        torch.testing.assert_close(got, want, **TOL)
    assert (row is not None) is with_row


@pytest.mark.parametrize('with_row', [False, True])
def test_branches_run_on_the_kept_samples_only(with_row):
    """The rows every sample needs come from every sample (its normed tokens and class
    query); the whole branch, keys included, runs on the samples timm's mask keeps."""
    torch.manual_seed(0)
    block = _block()
    seen = _batches_seen(block)
    mask1, mask2 = _timm_masks(7)
    assert 0 < mask1.sum() < BATCH and 0 < mask2.sum() < BATCH  # the seed drops some
    torch.manual_seed(7)
    block_with_cls_attention(block, torch.randn(BATCH, 5, 192), SCALE, with_row=with_row)
    assert seen == dict(qkv=int(mask1.sum()), proj=int(mask1.sum()), fc1=int(mask2.sum()))


@pytest.mark.parametrize('qk_norm', [False, True])
@pytest.mark.parametrize('drop_path', [0.0, DROP])
def test_rows_and_gradients_equal_the_full_attention(qk_norm, drop_path):
    """Training rows from the normed tokens (no keys; with qk-norm, from the keys) equal
    the released full softmax's row, and so do the gradients they send back."""
    from timm.models.vision_transformer import Block  # after wsol_mm.compat's shim

    torch.manual_seed(0)
    block = Block(192, 3, qkv_bias=True, qk_norm=qk_norm, drop_path=drop_path).train()
    x = torch.randn(BATCH, 5, 192, requires_grad=True)
    grad_out, grad_row = torch.randn(BATCH, 5, 192), torch.randn(BATCH, 5)
    results = []
    for mode in ('full', 'row'):
        x.grad = None
        block.zero_grad(set_to_none=True)
        torch.manual_seed(3)
        out, row = block_with_cls_attention(block, x, SCALE, mode=mode)
        ((out * grad_out).sum() + (row * grad_row).sum()).backward()
        results.append([out, row, x.grad] + [p.grad for p in block.parameters()])
    for got, want in zip(*results[::-1]):
        torch.testing.assert_close(got, want, **TOL)


@pytest.mark.parametrize('case', ['eval', 'no drop path', 'branch dropout', 'float64'])
def test_every_sample_runs_where_it_cannot_skip(case):
    """Evaluation, no stochastic depth, a branch that draws its own random numbers (their
    order would change), other dtypes: timm's path on every sample, timm's values."""
    torch.manual_seed(0)
    block = _block(drop_path=0.0 if case == 'no drop path' else DROP,
                   **(dict(proj_drop_rate=0.3) if case == 'branch dropout' else {}))
    dtype = torch.float64 if case == 'float64' else torch.float32
    block = block.to(dtype).train(case != 'eval')
    seen = _batches_seen(block)
    x = torch.randn(BATCH, 5, 192, dtype=dtype)
    torch.manual_seed(3)
    ref = block(x)
    torch.manual_seed(3)
    out, _ = block_with_cls_attention(block, x, SCALE, with_row=False)
    assert seen == dict(qkv=BATCH, proj=BATCH, fc1=BATCH)
    torch.testing.assert_close(out, ref, **TOL)


def test_a_trained_vit_step_matches_timm_loop():
    """The whole trunk in training mode (VisionTransformer's own loop) against timm's blocks
    called one after the other, the same seed: equal output and weight gradients."""
    torch.manual_seed(0)
    vit = VisionTransformer('deit_t', img_size=32, depth=4, drop_path_rate=0.6,
                            out_cls_attention=False).train()
    images = torch.randn(BATCH, 3, 32, 32)
    torch.manual_seed(11)
    (fmap, ) = vit(images)
    fmap.square().mean().backward()
    grads = [p.grad.clone() for p in vit.parameters()]
    vit.zero_grad(set_to_none=True)
    torch.manual_seed(11)
    x = vit.embed(images)
    for block in vit.blocks:
        x = block(x)
    ref = vit.norm(x)[:, 1:].transpose(1, 2).reshape_as(fmap)
    ref.square().mean().backward()
    torch.testing.assert_close(fmap, ref, **TOL)
    for got, p in zip(grads, vit.parameters()):
        torch.testing.assert_close(got, p.grad, rtol=1e-4, atol=1e-6)
