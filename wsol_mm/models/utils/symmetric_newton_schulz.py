"""The released Newton-Schulz iteration on symmetric matrices, evaluated in their eigenbasis."""
from typing import Tuple

import torch


class SymmetricNewtonSchulz(torch.autograd.Function):
    """``X_K^T V`` of ``K`` Newton-Schulz steps for symmetric ``F``, with the released gradient.

    For symmetric ``F = Q diag(lam) Q^T`` every iterate of ``X_{k+1} = X_k (2I - F X_k)``
    from ``X_0 = alpha F^T`` is ``Q diag(x_k) Q^T`` with the scalar iteration
    ``x_{k+1} = x_k (2 - lam x_k)``, ``x_0 = alpha lam`` per eigenvalue. One symmetric
    eigendecomposition plus ``K`` cheap scalar steps replace the ``2K`` batched matrix
    products of the loop (and ``4K`` in its backward). The residual norms of the
    divergence test are exact too: ``||I - F X_k||_F = ||1 - lam x_k||_2``.

    Backward reproduces the released gradient, in which ``X_0`` is a constant (computed
    without grad) and gradients flow through the ``K`` steps: with ``E = Q^T dF Q`` and
    ``r_k = 1 - lam x_k``, ``Q^T dX_K Q = -E * W`` where ``W_ij = Z_K`` of
    ``Z_{k+1} = (r_k,i + r_k,j) Z_k + x_k,i x_k,j``, ``Z_0 = 0``. Hence
    ``dL/dF = -Q (W * (Q^T V)(Q^T G)^T) Q^T`` and ``dL/dV = Q diag(x_K) Q^T G``.

    Scalars and ``W`` are computed in float64; the decomposition in ``F``'s dtype. Only
    the lower triangle of ``F`` is read (``torch.linalg.eigh``): ``F`` must be symmetric
    (SSFM's ``L * (lambda Sim - 1)`` is, by construction).

    Forward args: ``f (B, N, N)``, ``vectors (B, N, M)``, ``alpha (B,)`` (no grad),
    ``num_iters``. Returns ``(X_K^T V (B, N, M), diverged (B,) bool)``.
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor, vectors: torch.Tensor, alpha: torch.Tensor,
                num_iters: int) -> Tuple[torch.Tensor, torch.Tensor]:
        lam, q = torch.linalg.eigh(f)
        lam64 = lam.double()
        x = alpha.double().view(-1, 1) * lam64
        xs, rs = [], []
        for _ in range(num_iters):
            r = 1 - lam64 * x
            xs.append(x)
            rs.append(r)
            x = x * (1 + r)  # x (2 - lam x)
        proj = q.transpose(1, 2) @ vectors  # (B, N, M)
        out = q @ (x.to(f.dtype).unsqueeze(-1) * proj)
        res0 = torch.linalg.vector_norm(1 - alpha.double().view(-1, 1) * lam64 * lam64, dim=1)
        res = torch.linalg.vector_norm(1 - lam64 * x, dim=1)
        finite = torch.isfinite(x).all(dim=1) & torch.isfinite(res)
        # The released test: a non-finite iterate, or a final residual above the initial one.
        diverged = ~finite | (res > res0 * (1 + 1e-3) + 1e-4)
        ctx.mark_non_differentiable(diverged)
        empty = lam64.new_zeros((0, ) + lam64.shape)
        ctx.save_for_backward(q, proj, x, torch.stack(xs) if xs else empty,
                              torch.stack(rs) if rs else empty)
        return out, diverged

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor, _grad_diverged: torch.Tensor):
        q, proj, x, xs, rs = ctx.saved_tensors
        grad_proj = q.transpose(1, 2) @ grad_out  # (B, N, M)
        grad_vectors = q @ (x.to(grad_out.dtype).unsqueeze(-1) * grad_proj)
        weight = _recurrence_weight(xs, rs, x)
        inner = -weight.to(grad_out.dtype) * (proj @ grad_proj.transpose(1, 2))
        grad_f = q @ inner @ q.transpose(1, 2)
        return grad_f, grad_vectors, None, None


def _recurrence_weight(xs: torch.Tensor, rs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``W`` of ``Z_{k+1} = (r_k,i + r_k,j) Z_k + x_k,i x_k,j`` from ``Z_0 = 0``, float64.

    Built in place in two buffers allocated once: a fresh ``(B, N, N)`` tensor per
    operation made the loop 1.5-1.8x slower alone and about 3x slower inside a training
    step (``benchmarks/newton_schulz.py``). The bits are those of the plain recurrence
    (one rounding per multiplication and per addition).

    Args:
        xs (Tensor): ``(K, B, N)`` float64 iterates ``x_k`` per eigenvalue.
        rs (Tensor): ``(K, B, N)`` float64 residuals ``r_k = 1 - lam x_k``.
        x (Tensor): ``(B, N)`` final iterate (gives the shape when ``K = 0``).

    Returns:
        Tensor: ``(B, N, N)`` float64 ``Z_K``.
    """
    if len(xs) == 0:
        return torch.zeros(x.shape + x.shape[-1:], dtype=torch.float64, device=x.device)
    weight = xs[0].unsqueeze(-1) * xs[0].unsqueeze(-2)  # Z_1: Z_0 = 0
    scale, outer = torch.empty_like(weight), torch.empty_like(weight)
    for x_k, r_k in zip(xs[1:], rs[1:]):
        torch.add(r_k.unsqueeze(-1), r_k.unsqueeze(-2), out=scale)
        torch.mul(x_k.unsqueeze(-1), x_k.unsqueeze(-2), out=outer)
        weight.mul_(scale).add_(outer)
    return weight
