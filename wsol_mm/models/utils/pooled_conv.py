"""Weighted means of a convolution's output over its cells, without forming the output.

A stride-1 convolution with zero "same" padding is linear in its input, so any weighted
mean of its output cells, ``sum_n w_n conv(x)_n / (h w)``, is its kernel applied to the
input summed over the ``k x k`` shifted windows with the shifted weights, plus the bias
times the mean weight. TS-CAM's head needs only the plain mean (the GAP logits, weights 1);
LCA-MD's TFCM pools its 3x3 projection of the class maps with the attention ``a`` and
``1 - a``. Either way it is ``C_out x C_in x k^2`` products per image instead of that
many at every cell (a DeiT-S CUB step: 196 cells): the same value up to float rounding.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def pooled_conv_supported(conv: nn.Conv2d) -> bool:
    """Whether :func:`pooled_conv` applies: stride 1, no dilation, one group, odd kernel
    with zero padding of half its size (output cells = input cells)."""
    kh, kw = conv.kernel_size
    return (conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == 'zeros' and conv.padding == (kh // 2, kw // 2)
            and kh % 2 == 1 and kw % 2 == 1)


def pooled_conv(conv: nn.Conv2d, x: torch.Tensor,
                weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``(conv(x) * w).mean((-2, -1))`` for each weight map ``w``, without ``conv(x)``.

    Args:
        conv (nn.Conv2d): a convolution that :func:`pooled_conv_supported` accepts.
        x (Tensor): ``(B, C_in, h, w)`` input.
        weights (Tensor, optional): ``(B, M, h, w)`` weight maps (gradients flow to them
            too). None: the plain mean (global average pooling).

    Returns:
        Tensor: ``(B, C_out)`` without weights, else ``(B, M, C_out)``.
    """
    kh, kw = conv.kernel_size
    ph, pw = kh // 2, kw // 2
    h, w = x.shape[-2:]
    if weights is None:
        # Window sums of x itself: rows first, then columns (sums, no products).
        padded = F.pad(x, (pw, pw, ph, ph))
        rows = torch.stack([padded[:, :, i:i + h].sum(dim=2) for i in range(kh)], dim=2)
        windows = torch.stack([rows[..., j:j + w].sum(dim=-1) for j in range(kw)], dim=-1)
        pooled = torch.einsum('bdij,cdij->bc', windows, conv.weight) / (h * w)
        return pooled if conv.bias is None else pooled + conv.bias
    b, m = weights.shape[:2]
    # Kernel tap (i, j) reads input cell (y + i - ph, x + j - pw) of output cell (y, x):
    # input cell (y', x') is read with the weight of output cell (y' - i + ph, x' - j + pw),
    # i.e. the window of the weights padded by (ph, pw) that starts at (2 ph - i, 2 pw - j).
    padded = F.pad(weights, (pw, pw, ph, ph))
    shifted = torch.stack([padded[:, :, 2 * ph - i:2 * ph - i + h, 2 * pw - j:2 * pw - j + w]
                           for i in range(kh) for j in range(kw)], dim=2)  # (B, M, k*k, h, w)
    windows = x.flatten(2) @ shifted.flatten(3).flatten(1, 2).transpose(1, 2)  # (B, C_in, M*k*k)
    windows = windows.view(b, x.shape[1], m, kh, kw)
    pooled = torch.einsum('bdmij,cdij->bmc', windows, conv.weight) / (h * w)
    if conv.bias is not None:
        pooled = pooled + weights.mean(dim=(-2, -1)).unsqueeze(-1) * conv.bias
    return pooled
