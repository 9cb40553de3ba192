"""A pre-norm transformer block run from its own modules, returning the cls-attention row."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.layers import DropPath, Mlp

from .folded_cls_row_function import FoldedClsRowFunction
from .onednn_linear_function import onednn_linear
from .precision import at_least_float32
from .recomputed_gelu_linear_function import gelu_linear_recomputed, recomputable_gelu_linear

# Training rows from the normed tokens (FoldedClsRowFunction) where _foldable allows;
# False: from the keys, every sample's qkv computed (the benchmark's other side).
FOLD_ROWS = True


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
    on the plain DeiT-S training step here; elsewhere ``F.linear``). In training with
    stochastic depth (float32, CPU) each residual branch runs only on the samples that
    timm's ``DropPath`` mask keeps, the mask drawn as timm draws it (:func:`_draw_path`);
    the class-attention rows still come from every sample, from its normed tokens and
    class-token query (:class:`FoldedClsRowFunction`), so the keys too are computed for
    the kept samples only.

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
    n = x.shape[1]
    draw = _draw_path(getattr(block, 'drop_path1', None), x, attn.attn_drop, attn.proj_drop)
    kept = None if draw is None or mode == 'full' else draw[1]
    folded = with_row and mode != 'full' and _foldable(block, x)
    early = kept is not None and (folded or not with_row)  # the whole branch on the kept
    row = None
    if folded:  # the row from the normed tokens: no keys of dropped samples needed
        normed = block.norm1(x)
        row = FoldedClsRowFunction.apply(normed, attn.qkv.weight, attn.qkv.bias, scale,
                                         attn.num_heads)
        normed = normed.index_select(0, kept) if early else normed
    else:
        normed = block.norm1(x.index_select(0, kept) if early else x)
    qkv = onednn_linear(attn.qkv, normed, onednn).reshape(normed.shape[0], n, 3,
                                                          attn.num_heads, -1)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = _call(attn, 'q_norm', q), _call(attn, 'k_norm', k)
    if mode == 'full':
        full = ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1)
        out = attn.attn_drop(full) @ v
        row = at_least_float32(full[:, :, 0]).mean(dim=1)
    else:
        if with_row and not folded:  # (B, heads, 1, N): the class query only
            # The row feeds the CAMs: softmax and head mean in float32 under autocast.
            logits = at_least_float32((q[:, :, :1] * scale) @ k.transpose(-2, -1))
            row = logits.softmax(dim=-1)[:, :, 0].mean(dim=1)
        if kept is not None and not early:  # every row drawn; the rest on the kept samples
            q, k, v, normed = (t.index_select(0, kept) for t in (q, k, v, normed))
        out = F.scaled_dot_product_attention(
            q, k, v, dropout_p=attn.attn_drop.p if block.training else 0.0, scale=scale)
    out = _call(attn, 'norm', out.transpose(1, 2).reshape(out.shape[0], n, -1))
    if getattr(attn, 'gate', None) is not None:
        out = out * attn.gate(normed).sigmoid()
    out = attn.proj_drop(onednn_linear(attn.proj, out, onednn))
    x = _residual(block, 'drop_path1', x, _call(block, 'ls1', out), draw, kept)
    mlp = block.mlp
    draw = _draw_path(getattr(block, 'drop_path2', None), x,
                      *((mlp.drop1, mlp.drop2) if type(mlp) is Mlp else (None, )))
    kept = None if draw is None else draw[1]
    xm = x if kept is None else x.index_select(0, kept)
    out = _call(block, 'ls2', _mlp(mlp, block.norm2(xm), onednn))
    return _residual(block, 'drop_path2', x, out, draw, kept), row


def _foldable(block: nn.Module, x: torch.Tensor) -> bool:
    """Whether :class:`FoldedClsRowFunction` gives the row: training in float32 on the CPU
    outside autocast (as :func:`_draw_path`: evaluation keeps the released products),
    keys that are a plain linear map of the normed tokens (no ``k_norm``) and a plain
    ``nn.Linear`` qkv; and :data:`FOLD_ROWS` (benchmarks/cls_attention_row.py turns it
    off to time the rows from the keys)."""
    attn = block.attn
    return (FOLD_ROWS and block.training and x.device.type == 'cpu' and x.dtype == torch.float32
            and not torch.is_autocast_enabled('cpu') and not torch.compiler.is_compiling()
            and type(getattr(attn, 'k_norm', None)) in (nn.Identity, type(None))
            and type(getattr(attn, 'q_norm', None)) in (nn.Identity, type(None))
            and type(attn.qkv) is nn.Linear and attn.qkv.out_features == 3 * x.shape[-1])


def _draw_path(module: Optional[nn.Module], x: torch.Tensor, *branch: Optional[nn.Module]
               ) -> Optional[Tuple[torch.Tensor, Optional[torch.Tensor]]]:
    """timm's stochastic-depth factor for the residual branch of ``x``, drawn ahead.

    A sample whose branch is dropped adds ``branch * 0``, so the branch need not run for
    it: with float32 on the CPU the factor is drawn here, before the branch, as timm's
    :class:`DropPath` draws it (``bernoulli_`` on a ``(B, 1, 1)`` tensor, divided by the
    keep probability: the same random numbers and the same factor), and the block runs the
    branch on the kept samples only. That skips the drop rate's share of the trunk's work
    (0-10 % per block with DeiT's ``drop_path_rate=0.1``); the kept samples' values are
    the same up to the products' float summation order. Elsewhere (GPUs, where the kept
    indices would need a host read; autocast; other dtypes; compiling; a branch with its
    own dropout, whose draws would come in another order; not timm's ``DropPath``) None:
    the module runs as usual.

    Returns:
        tuple | None: the factor ``(B, 1, 1)`` and the kept samples' indices (None when
        all or none are kept: the branch then runs on every sample, as in timm).
    """
    if (type(module) is not DropPath or not module.training or module.drop_prob == 0
            or x.device.type != 'cpu' or x.dtype != torch.float32
            or torch.is_autocast_enabled('cpu') or torch.compiler.is_compiling()
            or any(m is None or (m.training and getattr(m, 'p', 0) > 0) for m in branch)):
        return None
    keep_prob = 1 - module.drop_prob
    factor = x.new_empty((x.shape[0], 1, 1)).bernoulli_(keep_prob)
    if keep_prob > 0.0 and module.scale_by_keep:
        factor.div_(keep_prob)
    kept = factor.view(-1).nonzero().view(-1)
    return factor, kept if 0 < kept.numel() < x.shape[0] else None


def _residual(block: nn.Module, name: str, x: torch.Tensor, out: torch.Tensor,
              draw: Optional[Tuple[torch.Tensor, Optional[torch.Tensor]]],
              kept: Optional[torch.Tensor]) -> torch.Tensor:
    """``x + drop_path(out)``, ``out`` being the branch of every sample or of ``kept``."""
    if draw is None:
        return x + _call(block, name, out)
    if kept is None:
        return x + out * draw[0]
    return x.index_add(0, kept, out * draw[0].index_select(0, kept))


def _mlp(mlp: nn.Module, x: torch.Tensor, onednn: bool) -> torch.Tensor:
    """timm's ``Mlp.forward`` with its two linear layers through :func:`onednn_linear`, and
    GELU + ``fc2`` as :func:`gelu_linear_recomputed` where that applies (training on the
    oneDNN path, the dropout off)."""
    if type(mlp) is not Mlp:  # gated and other variants: their own forward
        return mlp(x)
    h = onednn_linear(mlp.fc1, x, onednn)
    if (not (mlp.drop1.training and mlp.drop1.p > 0) and type(mlp.norm) is nn.Identity
            and recomputable_gelu_linear(mlp.act, mlp.fc2, h, onednn)):
        # keeps h alone, not gelu(h) too: 116 MB less per DeiT-S step at batch 8
        return mlp.drop2(gelu_linear_recomputed(mlp.act, mlp.fc2, h))
    x = mlp.drop1(mlp.act(h))
    return mlp.drop2(onednn_linear(mlp.fc2, mlp.norm(x), onednn))


def _call(module: nn.Module, name: str, x: torch.Tensor) -> torch.Tensor:
    """Apply ``module.<name>`` if it exists (older blocks lack layer-scale/qk-norm)."""
    sub = getattr(module, name, None)
    return x if sub is None else sub(x)
