"""Compiled backward weight of :class:`SymmetricNewtonSchulz` (numba, ``cache=True``).

The eigenbasis backward needs ``inner = -W * outer`` with ``W`` the ``(B, N, N)`` float64
``Z_K`` of ``Z_{k+1} = (r_k,i + r_k,j) Z_k + x_k,i x_k,j``. Built with torch, every step
of the recurrence is two broadcast operations and two in-place passes over a 2.4 MB
float64 tensor (LCA-MD, SCM: ``B = 8``, ``N = 196``, ``K = 16``), which no cache holds:
about 6 ms of a training step on two cores. Here each row of ``W`` lives in a local
buffer through all ``K`` steps and is cast and multiplied into ``outer`` at once, so the
tensor is never formed. Each element sees the same IEEE operations in the same order as
the torch recurrence (no fast-math: no contraction into fused multiply-adds), so the
result is the same bits.

This module imports numba; :mod:`symmetric_newton_schulz` imports it on the first
backward and keeps torch's recurrence where numba is missing.
"""
import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def weight_outer_(xs, rs, outer):
    """``outer <- -cast(W) * outer`` in place, ``W`` the recurrence weight (float64).

    Args:
        xs: float64 ``(K, B, N)`` iterates ``x_k`` (``K >= 1``).
        rs: float64 ``(K, B, N)`` residuals ``r_k``.
        outer: ``(B, N, N)`` float32 or float64, C-contiguous; overwritten.
    """
    num, batch, n = xs.shape
    row = np.empty(n, np.float64)
    cast = np.empty(n, outer.dtype)
    for b in range(batch):
        x0 = xs[0, b]
        for i in range(n):
            xi = x0[i]
            for j in range(n):  # Z_1 = x_0,i x_0,j (Z_0 = 0)
                row[j] = xi * x0[j]
            for k in range(1, num):
                ri, xki = rs[k, b, i], xs[k, b, i]
                rk, xk = rs[k, b], xs[k, b]
                for j in range(n):
                    row[j] = row[j] * (ri + rk[j]) + xki * xk[j]
            for j in range(n):
                cast[j] = row[j]  # rounded to outer's dtype, as .to(dtype)
            out = outer[b, i]
            for j in range(n):
                out[j] = -cast[j] * out[j]
