"""The class-query attention row of a transformer block from its normed tokens, without keys."""
from typing import Optional, Tuple

import torch


class FoldedClsRowFunction(torch.autograd.Function):
    """Head-mean ``softmax(q_0 K^T * scale)`` of a fused-qkv attention, keys folded away.

    With ``k_j = W_k n_j + b_k`` per head, ``q_0 . k_j = (W_k^T q_0) . n_j + q_0 . b_k``:
    the last term is the same for every token ``j``, and the softmax over ``j`` drops it.
    So each head's logits are the normed tokens ``n`` times one folded vector
    ``f = scale * W_k^T q_0`` per image, and only the class token's query is computed:
    no key of any sample. Same values as the row from ``K`` up to the float32
    summation order (``D`` terms instead of ``D / heads`` per logit).

    The backward is written out so that it allocates one gradient per input: the
    normed tokens' gradient takes the query's share in row 0 in place, and the qkv
    weight's gradient is filled slice by slice (the value rows zero), where autograd
    through slices and ``bmm`` built a zero tensor per slice and added them. On DeiT-S,
    batch 8, 2 AMD Zen 4 cores, the row's forward + backward took 1.2-1.6 ms per block
    against 2.0-2.4 ms from the keys (``benchmarks/cls_attention_row.py``).

    Forward args: ``normed (B, N, D)`` (class token first), ``weight (3D, D)`` and
    ``bias (3D,)`` or None of the fused ``qkv`` layer (query, key, value rows; heads
    contiguous within each), ``scale`` (float), ``heads`` (int). Returns the row
    ``(B, N)``, averaged over heads.
    """

    @staticmethod
    def forward(ctx, normed: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                scale: float, heads: int) -> torch.Tensor:
        b, _, d = normed.shape
        query = normed[:, 0] @ weight[:d].t()
        if bias is not None:
            query = query + bias[:d]
        scaled = (query * scale).view(b, heads, -1).transpose(0, 1)  # (H, B, D/H)
        folded = torch.bmm(scaled, _keys(weight, heads)).transpose(0, 1)  # (B, H, D)
        probs = torch.bmm(folded, normed.transpose(1, 2)).softmax(dim=2)  # (B, H, N)
        ctx.save_for_backward(normed, weight, scaled, folded, probs)
        ctx.scale, ctx.with_bias = scale, bias is not None
        return probs.mean(dim=1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor
                 ) -> Tuple[Optional[torch.Tensor], Optional[torch.Tensor],
                            Optional[torch.Tensor], None, None]:
        normed, weight, scaled, folded, probs = ctx.saved_tensors
        heads, b, _ = scaled.shape
        d = normed.shape[-1]
        need_normed, need_weight, need_bias = ctx.needs_input_grad[:3]
        grad_logits = probs * (grad.unsqueeze(1) / heads)
        grad_logits = grad_logits - probs * grad_logits.sum(dim=2, keepdim=True)  # (B, H, N)
        grad_folded = torch.bmm(grad_logits, normed)  # (B, H, D)
        keys = _keys(weight, heads)
        grad_query = torch.bmm(grad_folded.transpose(0, 1), keys.transpose(1, 2))  # (H, B, D/H)
        grad_query = grad_query.transpose(0, 1).reshape(b, d).mul_(ctx.scale)
        grad_normed = grad_weight = grad_bias = None
        if need_normed:
            grad_normed = torch.bmm(grad_logits.transpose(1, 2), folded)  # (B, N, D)
            grad_normed[:, 0].addmm_(grad_query, weight[:d])
        if need_weight:
            grad_weight = torch.empty_like(weight)
            grad_weight[2 * d:].zero_()  # the value rows play no part
            torch.mm(grad_query.t(), normed[:, 0], out=grad_weight[:d])
            torch.bmm(scaled.transpose(1, 2), grad_folded.transpose(0, 1),
                      out=grad_weight[d:2 * d].view(keys.shape))
        if need_bias and ctx.with_bias:
            grad_bias = grad_query.new_zeros(3 * d)  # key and value biases cancel
            torch.sum(grad_query, dim=0, out=grad_bias[:d])
        return grad_normed, grad_weight, grad_bias, None, None


def _keys(weight: torch.Tensor, heads: int) -> torch.Tensor:
    """``W_k`` of a fused ``(3D, D)`` qkv weight as ``(heads, D / heads, D)`` (a view)."""
    d = weight.shape[1]
    return weight[d:2 * d].view(heads, d // heads, d)
