"""A pre-norm transformer block run from its own modules, returning the cls-attention row."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import Mlp

from .onednn_linear_function import onednn_linear
from .precision import at_least_float32


def block_with_cls_attention(block: nn.Module, x: torch.Tensor, scale: float,
                             mode: str = 'row', with_row: bool = True,
                             onednn: bool = True) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Forward a timm-style ``Block`` and return the head-mean attention of token 0.

    ``mode='row'`` keeps fused attention (``scaled_dot_product_attention``) for
    the block output and computes only the class-query row
    ``softmax(q_0 K^T * scale)`` beside it, so no ``N x N`` tensor is built;
    ``mode='full'`` materialises the whole softmax as the released TS-CAM code
    (identical values; memory benchmark only). Both are differentiable. The linear
    layers run through :func:`onednn_linear` (float32 on CPU: oneDNN's GEMM, 1.04-1.09x
    on the plain DeiT-S training step here; elsewhere ``F.linear``).

    Args:
        block (nn.Module): a block with ``norm1``, ``attn`` (``qkv``, ``q_norm``,
            ``k_norm``, ``attn_drop``, ``norm``, ``proj``, ``proj_drop``),
            ``ls1``, ``drop_path1``, ``norm2``, ``mlp``, ``ls2``, ``drop_path2``.
        x (Tensor): tokens ``(B, N, D)``, class token first.
        scale (float): query-key scale.
        mode (str): ``'row'`` or ``'full'``.
        with_row (bool): compute the row (else None is returned in 'row' mode).
        onednn (bool): allow :func:`onednn_linear` for the ``qkv``, ``proj`` and
            MLP layers (False: ``F.linear`` as in timm). Defaults to True.

    Returns:
        tuple: block output ``(B, N, D)`` and the head-mean row ``(B, N)``
        (post-softmax, before attention dropout; at least float32) or None.
    """
    attn = block.attn
    b, n, _ = x.shape
    normed = block.norm1(x)
    qkv = onednn_linear(attn.qkv, normed, onednn).reshape(b, n, 3, attn.num_heads, -1)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = _call(attn, 'q_norm', q), _call(attn, 'k_norm', k)
    row = None
    if mode == 'full':
        full = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        out = attn.attn_drop(full) @ v
        row = at_least_float32(full[:, :, 0]).mean(dim=1)
    else:
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=attn.attn_drop.p if block.training else 0.0, scale=scale)
        if with_row:  # (B, heads, 1, N): the class query only
            # The row feeds the CAMs: softmax and head mean in float32 under autocast.
            logits = at_least_float32((q[:, :, :1] * scale) @ k.transpose(-2, -1))
            row = logits.softmax(dim=-1)[:, :, 0].mean(dim=1)
    out = _call(attn, 'norm', out.transpose(1, 2).reshape(b, n, -1))
    if getattr(attn, 'gate', None) is not None:
        out = out * attn.gate(normed).sigmoid()
    out = attn.proj_drop(onednn_linear(attn.proj, out, onednn))
    x = x + _call(block, 'drop_path1', _call(block, 'ls1', out))
    x = x + _call(block, 'drop_path2', _call(block, 'ls2', _mlp(block.mlp, block.norm2(x), onednn)))
    return x, row


def _mlp(mlp: nn.Module, x: torch.Tensor, onednn: bool) -> torch.Tensor:
    """timm's ``Mlp.forward`` with its two linear layers through :func:`onednn_linear`."""
    if type(mlp) is not Mlp:  # gated and other variants: their own forward
        return mlp(x)
    x = mlp.drop1(mlp.act(onednn_linear(mlp.fc1, x, onednn)))
    return mlp.drop2(onednn_linear(mlp.fc2, mlp.norm(x), onednn))


def _call(module: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    """Apply ``module.<name>`` if it exists (older blocks lack layer-scale/qk-norm)."""
    sub = getattr(module, name, None)
    return x if sub is None else sub(x)
