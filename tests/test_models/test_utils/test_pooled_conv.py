"""Weighted means of a convolution's output without forming it equal the dense ones."""
import pytest
import torch
import torch.nn as nn

from wsol_mm.models.necks import TFCM
from wsol_mm.models.utils.pooled_conv import pooled_conv, pooled_conv_supported


@pytest.mark.parametrize('kernel,bias,size', [(3, True, (5, 7)), (5, False, (6, 4)),
                                               (1, True, (3, 3)), ((3, 5), True, (4, 6))])
def test_weighted_means_and_gradients_match_the_dense_convolution(kernel, bias, size):
    g = torch.Generator().manual_seed(0)
    ks = (kernel, kernel) if isinstance(kernel, int) else kernel
    conv = nn.Conv2d(4, 3, ks, padding=(ks[0] // 2, ks[1] // 2), bias=bias).double()
    assert pooled_conv_supported(conv)
    x = torch.randn(2, 4, *size, generator=g, dtype=torch.float64)
    w = torch.randn(2, 2, *size, generator=g, dtype=torch.float64)  # any sign, as 1 - a
    results = []
    for dense in (True, False):
        conv.zero_grad()
        xs, ws = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        if dense:
            out = conv(xs)
            means = (out.unsqueeze(1) * ws.unsqueeze(2)).mean(dim=(-2, -1))  # (B, M, C)
            gap = out.mean(dim=(-2, -1))
        else:
            means, gap = pooled_conv(conv, xs, ws), pooled_conv(conv, xs)
        (means * torch.arange(1., 7.).view(2, 3).double()).sum().backward(retain_graph=True)
        (gap.square().sum()).backward()
        grads = [xs.grad, ws.grad, conv.weight.grad] + ([conv.bias.grad] if bias else [])
        results.append([means.detach(), gap.detach()] + [t.clone() for t in grads])
    assert results[1][0].shape == (2, 2, 3) and results[1][1].shape == (2, 3)
    for got, want in zip(results[1], results[0]):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def test_unsupported_convolutions_are_recognised():
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 3, padding=0))
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 3, padding=1, stride=2))
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 3, padding=2, dilation=2))
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 3, padding=1, groups=2))
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 2, padding=1))
    assert not pooled_conv_supported(nn.Conv2d(2, 2, 3, padding=1, padding_mode='reflect'))


def test_tfcm_pools_without_forming_the_projection():
    """TFCM's features equal those of the formed projection (the path a custom conv
    takes), values and gradients, and the projection is never computed."""
    g = torch.Generator().manual_seed(1)
    tfcm = TFCM(num_classes=5).double()
    s = torch.rand(3, 5, 6, 6, generator=g, dtype=torch.float64)
    att = torch.rand(3, 36, generator=g, dtype=torch.float64) * 2  # raw: 1 - a < 0 too
    calls = []
    tfcm.conv.register_forward_hook(lambda *args: calls.append(1))
    outs = []
    for formed in (False, True):
        tfcm.zero_grad()
        ss, aa = s.clone().requires_grad_(True), att.clone().requires_grad_(True)
        if formed:
            proj = tfcm.conv(ss)
            weight = aa.view(3, 1, 6, 6)
            fg, bg = (proj * weight).mean((-2, -1)), (proj * (1 - weight)).mean((-2, -1))
        else:
            fg, bg = tfcm(ss, aa)
            assert not calls
        (fg.sum() + 3 * bg.square().sum()).backward()
        outs.append([fg.detach(), bg.detach(), ss.grad, aa.grad, tfcm.conv.weight.grad.clone(),
                     tfcm.conv.bias.grad.clone()])
    for got, want in zip(*outs):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)
