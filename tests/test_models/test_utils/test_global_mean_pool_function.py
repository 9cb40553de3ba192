"""Global average pooling with a broadcast gradient: x.mean's values and gradients, no
materialised (B, C, h, w) gradient."""
import pytest
import torch

from wsol_mm.models.heads import CAMHead
from wsol_mm.models.utils import global_mean_pool
from wsol_mm.models.utils.global_mean_pool_function import GlobalMeanPoolFunction


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
@pytest.mark.parametrize('channels_last', [False, True])
@pytest.mark.parametrize('shape', [(2, 5, 7, 9), (3, 4, 1, 1), (1, 3, 28, 28)])
def test_same_values_and_gradients_as_mean(dtype, channels_last, shape):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen, dtype=dtype)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    grad = torch.randn(shape[:2], generator=gen, dtype=dtype)
    out, ref = global_mean_pool(ours), theirs.mean(dim=(2, 3))
    assert isinstance(out.grad_fn, GlobalMeanPoolFunction._backward_cls)
    # the same reduction forward; backward the same per-element division g / (h w)
    # (correctly rounded whatever the layout), so the same bits
    assert torch.equal(out, ref)
    (g_ours, ), (g_theirs, ) = (torch.autograd.grad(o, t, grad)
                                for o, t in ((out, ours), (ref, theirs)))
    assert torch.equal(g_ours, g_theirs)
    assert g_ours.shape == x.shape and g_ours.dtype == dtype


def test_the_gradient_is_a_broadcast_view():
    """The point of the function: no (B, C, h, w) tensor is written for the gradient."""
    x = torch.randn(2, 6, 5, 4).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    grad, = torch.autograd.grad(global_mean_pool(x), x, torch.ones(2, 6))
    assert grad.stride()[2:] == (0, 0)
    assert grad.untyped_storage().nbytes() == 2 * 6 * grad.element_size()
    assert torch.equal(grad, torch.full_like(grad, 1 / 20))


def test_without_autograd_it_is_the_plain_mean():
    x = torch.randn(2, 3, 4, 4)
    assert global_mean_pool(x).grad_fn is None  # no grad needed
    with torch.no_grad():
        assert global_mean_pool(x.requires_grad_()).grad_fn is None
    assert torch.equal(global_mean_pool(x.detach()), x.detach().mean(dim=(2, 3)))


def test_the_cam_head_pools_with_it():
    """CAMHead's logits, and the gradient its last feature map receives, as with x.mean;
    that gradient's pooling part arrives as a broadcast view."""
    torch.manual_seed(0)
    head = CAMHead(num_classes=3, in_channels=8)
    fmap = torch.randn(2, 8, 5, 5).contiguous(memory_format=torch.channels_last)
    fmap.requires_grad_(True)
    logits = head((fmap, ))
    ref = head.fc(fmap.mean(dim=(2, 3)))
    assert torch.equal(logits, ref)
    grad = torch.randn(2, 3)
    ours, = torch.autograd.grad(logits, fmap, grad)
    theirs, = torch.autograd.grad(ref, fmap, grad)
    assert torch.equal(ours, theirs)
    assert ours.stride()[2:] == (0, 0)
