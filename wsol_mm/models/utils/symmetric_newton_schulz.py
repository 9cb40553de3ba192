"""The released Newton-Schulz iteration on symmetric matrices, evaluated in their eigenbasis."""
from typing import Optional, Tuple

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

    With ``fallback_alpha`` the divergence guard's re-run reuses the decomposition: the
    images that diverged from ``alpha`` restart the scalar iteration from
    ``min(alpha, fallback_alpha)`` (the others keep theirs, so their values are the same
    bits), with no second decomposition and no host synchronisation.

    Forward args: ``f (B, N, N)``, ``vectors (B, N, M)``, ``alpha (B,)`` (no grad),
    ``num_iters``, ``fallback_alpha (B,)`` or None. Returns ``(X_K^T V (B, N, M),
    diverged (B,) bool, still diverged (B,) bool)``: the test from ``alpha``, then from
    the scales actually used (the same tensor's values without ``fallback_alpha``).
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor, vectors: torch.Tensor, alpha: torch.Tensor,
                num_iters: int, fallback_alpha: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        lam, q = torch.linalg.eigh(f)
        lam64 = lam.double()
        alpha = alpha.double()
        x, xs, rs, diverged = _scalar_iteration(lam64, alpha, num_iters)
        still_bad = diverged.clone()  # an output of its own (autograd)
        if fallback_alpha is not None:
            alpha = torch.where(diverged, torch.minimum(alpha, fallback_alpha.double()), alpha)
            x, xs, rs, still_bad = _scalar_iteration(lam64, alpha, num_iters)
        proj = q.transpose(1, 2) @ vectors  # (B, N, M)
        out = q @ (x.to(f.dtype).unsqueeze(-1) * proj)
        ctx.mark_non_differentiable(diverged, still_bad)
        empty = lam64.new_zeros((0, ) + lam64.shape)
        ctx.save_for_backward(q, proj, x, torch.stack(xs) if xs else empty,
                              torch.stack(rs) if rs else empty)
        return out, diverged, still_bad

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor, _grad_diverged: torch.Tensor,
                 _grad_still_bad: torch.Tensor):
        q, proj, x, xs, rs = ctx.saved_tensors
        grad_proj = q.transpose(1, 2) @ grad_out  # (B, N, M)
        grad_vectors = q @ (x.to(grad_out.dtype).unsqueeze(-1) * grad_proj)
        inner = _weighted_outer(xs, rs, x, proj @ grad_proj.transpose(1, 2))
        grad_f = q @ inner @ q.transpose(1, 2)
        return grad_f, grad_vectors, None, None, None


def _scalar_iteration(lam: torch.Tensor, alpha: torch.Tensor,
                      num_iters: int) -> Tuple[torch.Tensor, list, list, torch.Tensor]:
    """The iteration per eigenvalue from ``x_0 = alpha lam`` and the released divergence test.

    Args:
        lam (Tensor): ``(B, N)`` float64 eigenvalues.
        alpha (Tensor): ``(B,)`` float64 initial scales.
        num_iters (int): number of steps ``K``.

    Returns:
        tuple: ``x_K (B, N)``, the iterates ``x_k`` and residuals ``r_k = 1 - lam x_k``
        (``k < K``, for the backward) and ``(B,)`` bool, True where the iteration diverged.
    """
    x = alpha.view(-1, 1) * lam
    xs, rs = [], []
    for _ in range(num_iters):
        r = 1 - lam * x
        xs.append(x)
        rs.append(r)
        x = x * (1 + r)  # x (2 - lam x)
    res0 = torch.linalg.vector_norm(1 - alpha.view(-1, 1) * lam * lam, dim=1)
    res = torch.linalg.vector_norm(1 - lam * x, dim=1)
    finite = torch.isfinite(x).all(dim=1) & torch.isfinite(res)
    # The released test: a non-finite iterate, or a final residual above the initial one.
    return x, xs, rs, ~finite | (res > res0 * (1 + 1e-3) + 1e-4)


def _weighted_outer(xs: torch.Tensor, rs: torch.Tensor, x: torch.Tensor,
                    outer: torch.Tensor) -> torch.Tensor:
    """``-W * outer`` (``W`` = :func:`_recurrence_weight`, cast to ``outer``'s dtype).

    On CPU, with numba, a compiled kernel overwrites ``outer`` without forming ``W``: the
    same bits, 4-5x faster (``benchmarks/newton_schulz.py``). Elsewhere, without numba or
    under ``create_graph`` (a second derivative needs the torch operations), torch's
    recurrence.
    """
    kernel = _kernel() if len(xs) and outer.device.type == 'cpu' else None
    if kernel is None or torch.is_grad_enabled() or outer.dtype not in _KERNEL_DTYPES:
        return -_recurrence_weight(xs, rs, x).to(outer.dtype) * outer
    outer = outer.contiguous()
    kernel(xs.contiguous().numpy(), rs.contiguous().numpy(), outer.numpy())
    return outer


_KERNEL_DTYPES = (torch.float32, torch.float64)
_KERNEL = {}  # 'fn': the compiled kernel or None (numba missing), imported on first use


def _kernel():
    """The numba kernel of :func:`_weighted_outer`, or None without numba."""
    if 'fn' not in _KERNEL:
        try:
            from ._recurrence_weight_kernel import weight_outer_
        except ImportError:  # numba is optional
            weight_outer_ = None
        _KERNEL['fn'] = weight_outer_
    return _KERNEL['fn']


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
