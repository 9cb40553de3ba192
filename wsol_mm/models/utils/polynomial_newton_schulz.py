"""The released Newton-Schulz iteration applied to vectors, without forming an iterate.

Every iterate of ``X_{k+1} = X_k (2I - F X_k)`` is a fixed polynomial in ``F`` and the
constant ``X_0 = alpha F^T``, so ``V^T X_K`` follows from rows alone:
``V^T X_{k+1} = 2 Y - (Y F) X_k`` with ``Y = V^T X_k`` applies ``X_k`` twice, hence
``2^(K+1) - 1`` products of a few rows with an ``(N, N)`` matrix and no matrix product.
Autograd through them gives the released gradient (``X_0`` a constant, the ``K`` steps
differentiated), for any square ``F``, symmetric or not.

The released divergence test needs the residual norms ``||I - F X_0||_F`` and
``||I - F X_K||_F``. Since ``I - F X_{k+1} = (I - F X_k)^2``, the residual after ``K``
steps is ``R^(2^K)`` with ``R = I - alpha F F^T``: one product for ``R`` and ``K``
squarings, computed without autograd.

For the few steps of SSFM's later blocks (``K = 4``) this is about half the cost of the
eigendecomposition on CPU (``benchmarks/newton_schulz.py``), and its float32 values sit
closer to the loop's (the rows follow the loop's own products).
"""
from typing import List, Optional, Tuple

import torch
from torch.autograd.function import once_differentiable

#: Up to this many steps (63 row products) the rows beat one eigendecomposition on CPU
#: for SSFM's 196 x 196 matrices (``benchmarks/newton_schulz.py``); the count doubles
#: with every step.
POLYNOMIAL_MAX_ITERS = 5


def residual_norms(f: torch.Tensor, alpha: torch.Tensor,
                   num_iters: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``||I - F X_0||_F`` and ``||I - F X_K||_F`` per matrix, without autograd.

    Args:
        f (Tensor): ``(B, N, N)``.
        alpha (Tensor): ``(B, 1, 1)`` initial scales.
        num_iters (int): number of steps ``K``.

    Returns:
        tuple: two ``(B,)`` tensors (non-finite where the iteration overflows).
    """
    with torch.no_grad():
        f = f.detach()
        eye = torch.eye(f.shape[-1], dtype=f.dtype, device=f.device)
        residual = eye - alpha * (f @ f.transpose(1, 2))
        first = torch.linalg.matrix_norm(residual)
        for _ in range(num_iters):
            residual = residual @ residual
        return first, torch.linalg.matrix_norm(residual)


def polynomial_newton_schulz(f: torch.Tensor, vectors: torch.Tensor, alpha: torch.Tensor,
                             num_iters: int) -> torch.Tensor:
    """``X_K^T V`` of ``num_iters`` steps from ``X_0 = alpha F^T``, differentiable in
    ``f`` and ``vectors`` with the released gradient.

    Args:
        f (Tensor): ``(B, N, N)``.
        vectors (Tensor): ``(B, N, M)``.
        alpha (Tensor): ``(B, 1, 1)`` initial scales (no gradient).
        num_iters (int): number of steps ``K``.

    Returns:
        Tensor: ``(B, N, M)``.
    """
    return PolynomialNewtonSchulz.apply(f, vectors, alpha.detach(), num_iters)


class PolynomialNewtonSchulz(torch.autograd.Function):
    """The rows of :func:`polynomial_newton_schulz` with a backward written out.

    Autograd through the ``2^K - 1`` products ``Y F`` gave ``F`` one outer product per
    product and summed them one by one: ``2^K - 1`` passes over a ``(B, N, N)`` tensor
    each way (SSFM: ``B = 8``, ``N = 196``, ``K = 4``: about 2.5 ms of a step on two
    cores). The backward here walks the same recursion in reverse, collects the row
    gradients of those products, and forms ``dL/dF`` as one product of the stacked rows.
    The same gradient up to the float summation order.

    Forward args: ``f (B, N, N)``, ``vectors (B, N, M)``, ``alpha (B, 1, 1)`` (no grad),
    ``num_iters``. Returns ``X_K^T V`` ``(B, N, M)``.
    """

    @staticmethod
    def forward(ctx, f: torch.Tensor, vectors: torch.Tensor, alpha: torch.Tensor,
                num_iters: int) -> torch.Tensor:
        start = alpha * f.transpose(1, 2)  # X_0, a constant as released
        saved: List[torch.Tensor] = []  # rows Y of each product Y F, in forward order
        out = _rows_times_iterate(vectors.transpose(1, 2), f, start, num_iters, saved)
        ctx.num_iters = num_iters
        ctx.save_for_backward(f, start, *saved)
        return out.transpose(1, 2)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        f, start, *saved = ctx.saved_tensors
        grads: List[Optional[torch.Tensor]] = [None] * len(saved)
        grad_rows = _rows_backward(grad.transpose(1, 2), f, start, ctx.num_iters, 0, grads)
        grad_f = None
        if saved and ctx.needs_input_grad[0]:
            # sum over the products of Y_m^T G_m: one (N, P) @ (P, N) product
            grad_f = torch.cat(saved, dim=1).transpose(1, 2) @ torch.cat(grads, dim=1)
        return grad_f, grad_rows.transpose(1, 2), None, None


def _rows_times_iterate(rows: torch.Tensor, f: torch.Tensor, start: torch.Tensor, k: int,
                        saved: List[torch.Tensor]) -> torch.Tensor:
    """``rows @ X_k`` for ``rows`` ``(B, M, N)``: ``2^(k+1) - 1`` row products; appends the
    rows of each product with ``f`` to ``saved`` (the ``k - 1`` subtree's first)."""
    if k == 0:
        return torch.bmm(rows, start)
    y = _rows_times_iterate(rows, f, start, k - 1, saved)
    saved.append(y)
    # rows @ X_k (2I - F X_k) = 2 Y - (Y F) X_k: a (B, M, N) @ (B, N, N) product is
    # ~10x cheaper on CPU than the (B, N, N) @ (B, N, M) one of the same size
    return 2 * y - _rows_times_iterate(torch.bmm(y, f), f, start, k - 1, saved)


def _rows_backward(grad: torch.Tensor, f: torch.Tensor, start: torch.Tensor, k: int,
                   first: int, grads: List[Optional[torch.Tensor]]) -> torch.Tensor:
    """The gradient of ``rows`` in ``_rows_times_iterate(rows, ..., k)`` whose products with
    ``f`` are ``saved[first:first + 2^k - 1]``; stores the gradient of each product's rows
    ``Y F`` in ``grads`` at its index."""
    if k == 0:
        return torch.bmm(grad, start.transpose(1, 2))
    mid = first + 2 ** (k - 1) - 1  # Y's subtree holds the 2^(k-1) - 1 products before
    grad_yf = _rows_backward(-grad, f, start, k - 1, mid + 1, grads)
    grads[mid] = grad_yf
    grad_y = 2 * grad + torch.bmm(grad_yf, f.transpose(1, 2))
    return _rows_backward(grad_y, f, start, k - 1, first, grads)
