"""Batched Newton-Schulz iteration with divergence detection.

The iteration ``X_{k+1} = X_k (2I - F X_k)`` from ``X_0 = alpha F^T`` has residual
``I - F X_k = (I - alpha F F^T)^(2^k)``: it contracts iff ``alpha * sigma_max(F)^2 < 2``
and otherwise grows doubly exponentially (to inf/NaN after 16 steps). Because
``I - alpha F F^T`` is symmetric, the Frobenius norm of the residual never grows
while the iteration contracts, so "final residual > initial residual" or a
non-finite value is an exact-enough divergence test that costs one extra matmul.

When only ``X_K^T V`` is needed, two solvers evaluate the same iteration, the same
divergence test and the same (released) gradient without the loop's ``2K`` batched matrix
products: ``solver='eigen'`` for symmetric matrices (SSFM's fusion matrix) in their
eigenbasis (:class:`SymmetricNewtonSchulz`, one eigendecomposition), and
``solver='polynomial'`` with products of the vectors only and ``K + 1`` gradient-free
matrix products for the test (:mod:`.polynomial_newton_schulz`; few steps, any square
matrix). Both are several times faster than the loop on CPU; the loop stays the reference.
"""
from typing import Optional, Tuple, Union

import torch

from .polynomial_newton_schulz import polynomial_newton_schulz, residual_norms
from .symmetric_newton_schulz import SymmetricNewtonSchulz

DIVERGENCE_MODES = ('fallback', 'raise')
FALLBACK_CHECKS = ('auto', 'host', 'device')
SOLVERS = ('loop', 'eigen', 'polynomial')


def newton_schulz(f: torch.Tensor, num_iters: int, alpha: torch.Tensor,
                  vectors: Optional[torch.Tensor] = None,
                  solver: str = 'loop') -> Tuple[torch.Tensor, torch.Tensor]:
    """Run ``num_iters`` Newton-Schulz steps on a batch of square matrices.

    Args:
        f (Tensor): ``(B, N, N)`` matrices (gradients flow through the steps).
        num_iters (int): number of steps.
        alpha (Tensor): ``(B, 1, 1)`` scale of the initial guess (no gradient).
        vectors (Tensor, optional): ``(B, N, M)``: return ``X_K^T @ vectors``.
        solver (str): ``'loop'`` (the released products), ``'eigen'`` (``f`` is
            symmetric: in its eigenbasis) or ``'polynomial'`` (products of the vectors);
            the last two need ``vectors``. Defaults to 'loop'.

    Returns:
        tuple: the approximate inverse ``(B, N, N)`` (or ``X_K^T @ vectors``) and a
        ``(B,)`` bool tensor, True where the iteration diverged.
    """
    _check_solver(solver, vectors)
    if solver == 'eigen':
        out, diverged, _ = SymmetricNewtonSchulz.apply(f, vectors, alpha.reshape(-1), num_iters)
        return out, diverged
    if solver == 'polynomial':
        diverged = _polynomial_diverged(f, alpha, num_iters)
        return polynomial_newton_schulz(f, vectors, alpha, num_iters), diverged
    eye = torch.eye(f.shape[-1], dtype=f.dtype, device=f.device).expand_as(f)
    with torch.no_grad():
        x = alpha * f.transpose(1, 2)
        res0 = torch.linalg.matrix_norm(eye - f @ x)
    for _ in range(num_iters):
        x = x @ (2 * eye - f @ x)
    with torch.no_grad():
        res = torch.linalg.matrix_norm(eye - f @ x)
        finite = torch.isfinite(x).flatten(1).all(dim=1)
        diverged = _diverged(res0.flatten(), res.flatten(), finite)
    return (x if vectors is None else x.transpose(1, 2) @ vectors), diverged


def _diverged(res0: torch.Tensor, res: torch.Tensor,
              finite: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The released test: a non-finite iterate or residual, or a final residual above the
    initial one (with a relative slack for round-off when it stalls, singular F)."""
    ok = torch.isfinite(res) if finite is None else finite & torch.isfinite(res)
    return ~ok | (res > res0 * (1 + 1e-3) + 1e-4)


def _polynomial_diverged(f: torch.Tensor, alpha: torch.Tensor, num_iters: int) -> torch.Tensor:
    """The test of the polynomial solver: the iterates are not formed; an overflowing
    iterate overflows the residual ``R^(2^K)`` as well."""
    return _diverged(*residual_norms(f, alpha, num_iters))


def _check_solver(solver: str, vectors: Optional[torch.Tensor]) -> None:
    if solver not in SOLVERS:
        raise ValueError(f'solver must be one of {SOLVERS}, got "{solver}"')
    if solver != 'loop' and vectors is None:
        raise ValueError(f"newton_schulz(solver='{solver}') needs `vectors`")


def safe_newton_schulz_alpha(f: torch.Tensor) -> torch.Tensor:
    """``1 / (||F||_1 ||F||_inf)`` per matrix: a scale for which the iteration contracts.

    ``sigma_max(F)^2 <= ||F||_1 ||F||_inf``, so ``alpha * sigma_max^2 <= 1 < 2``.
    """
    with torch.no_grad():
        norm1 = f.abs().sum(dim=1).amax(dim=-1)
        norm_inf = f.abs().sum(dim=2).amax(dim=-1)
        return (1.0 / (norm1 * norm_inf).clamp_min(1e-12)).view(-1, 1, 1)


def _fallback_init(f: torch.Tensor, init: torch.Tensor, diverged: torch.Tensor) -> torch.Tensor:
    """``init``, with the diverged images' scales lowered to the safe one."""
    with torch.no_grad():
        return torch.where(diverged.view(-1, 1, 1),
                           torch.minimum(init, safe_newton_schulz_alpha(f)), init)


def guarded_newton_schulz(f: torch.Tensor, num_iters: int, alpha: float,
                          on_divergence: str = 'fallback', name: str = 'newton_schulz',
                          vectors: Optional[torch.Tensor] = None,
                          solver: str = 'loop',
                          check: str = 'host') -> Tuple[torch.Tensor, Union[int, torch.Tensor]]:
    """Newton-Schulz with the fixed initial scale ``alpha`` and a divergence guard.

    Images whose iteration diverges are either re-run from the safe scale of
    :func:`safe_newton_schulz_alpha` (``on_divergence='fallback'``) or make the
    call raise ``FloatingPointError`` (``'raise'``).

    Where the fallback is decided: ``check='host'`` reads the number of diverged
    images on the host (one synchronisation per call) and re-runs only when one
    diverged; ``check='device'`` never synchronises (see :func:`_device_checked`):
    the loop then always runs twice, the first time without autograd, so it pays
    off only where a synchronisation stalls a queue of work (GPUs). Both give the
    same values and gradients. ``'raise'`` always checks on the host. The other solvers
    run once for either check, whether or not an image diverged: ``'eigen'`` reuses the
    first run's eigendecomposition for the re-run (:func:`_eigen_checked`),
    ``'polynomial'`` tests before it runs (:func:`_polynomial_checked`).

    Args:
        f (Tensor): ``(B, N, N)``.
        num_iters (int): number of steps.
        alpha (float): initial scale (0.002 in SCM / LCA-MD).
        on_divergence (str): ``'fallback'`` or ``'raise'``.
        name (str): module name used in the error message.
        vectors (Tensor, optional): ``(B, N, M)``: return ``X_K^T @ vectors``.
        solver (str): ``'loop'``, ``'eigen'`` or ``'polynomial'`` (see
            :func:`newton_schulz`). Defaults to 'loop'.
        check (str): ``'host'`` or ``'device'``. Defaults to 'host'.

    Returns:
        tuple: the approximate inverse (or ``X_K^T @ vectors``) and the number of
        images that fell back: an int (``check='host'``) or a 0-dim tensor on
        ``f``'s device (``'device'``).
    """
    if on_divergence not in DIVERGENCE_MODES:
        raise ValueError(f'on_divergence must be one of {DIVERGENCE_MODES}, '
                         f'got "{on_divergence}"')
    if check not in FALLBACK_CHECKS[1:]:
        raise ValueError(f"check must be 'host' or 'device', got \"{check}\"")
    _check_solver(solver, vectors)
    init = torch.full((f.shape[0], 1, 1), float(alpha), dtype=f.dtype, device=f.device)
    if on_divergence == 'fallback' and solver != 'loop':
        checked = _eigen_checked if solver == 'eigen' else _polynomial_checked
        return checked(f, num_iters, init, vectors, name, check)
    if check == 'device' and on_divergence == 'fallback':
        return _device_checked(f, num_iters, init, vectors)
    x, diverged = newton_schulz(f, num_iters, init, vectors, solver)
    num_bad = int(diverged.sum())
    if num_bad == 0:
        return x, 0
    if on_divergence == 'raise':
        raise FloatingPointError(
            f'{name}: the Newton-Schulz iteration ({num_iters} steps, alpha={alpha}) diverged '
            f'for {num_bad}/{f.shape[0]} images (batch indices '
            f'{diverged.nonzero().flatten().tolist()}); alpha * sigma_max(F)^2 exceeded 2. '
            "Set on_divergence='fallback', lower ns_alpha or use a smaller graph (cross).")
    # Re-run the whole batch so that no inf/NaN of the diverged run enters the
    # autograd graph (0 * inf would poison the gradients of the other images).
    x, still_bad = newton_schulz(f, num_iters, _fallback_init(f, init, diverged), vectors,
                                 solver)
    if bool(still_bad.any()):
        raise _still_diverged(name)
    return x, num_bad


def _still_diverged(name: str) -> FloatingPointError:
    return FloatingPointError(f'{name}: Newton-Schulz diverged even from the safe scale; '
                              'its input contains non-finite values.')


def _eigen_checked(f: torch.Tensor, num_iters: int, init: torch.Tensor,
                   vectors: torch.Tensor, name: str,
                   check: str) -> Tuple[torch.Tensor, Union[int, torch.Tensor]]:
    """The fallback of the eigenbasis solve: one decomposition serves the first run and
    the re-run (:class:`SymmetricNewtonSchulz` with ``fallback_alpha``), so both checks
    cost one solve; ``'host'`` then reads the count, ``'device'`` keeps it there. Same
    values and gradients as the loop's re-run."""
    out, diverged, still_bad = SymmetricNewtonSchulz.apply(
        f, vectors, init.reshape(-1), num_iters, safe_newton_schulz_alpha(f).reshape(-1))
    if check == 'device':
        return out, diverged.sum()
    num_bad = int(diverged.sum())
    if num_bad and bool(still_bad.any()):
        raise _still_diverged(name)
    return out, num_bad


def _polynomial_checked(f: torch.Tensor, num_iters: int, init: torch.Tensor,
                        vectors: torch.Tensor, name: str,
                        check: str) -> Tuple[torch.Tensor, Union[int, torch.Tensor]]:
    """The fallback of the polynomial solve: its test needs no iterate, so it runs first
    and decides each image's scale (on the device for ``'device'``); then one
    differentiable run. Same values and gradients as the loop's re-run.

    ``'host'`` raises where the loop's re-run test would: the safe scale has
    ``alpha sigma_max(F)^2 <= 1`` (:func:`safe_newton_schulz_alpha`), so ``R = I - alpha
    F F^T`` has its eigenvalues in ``[0, 1]`` and ``||R^(2^K)||_F <= ||R||_F``: the test
    cannot fire on a finite ``F`` (its slack, 0.1 % + 1e-4, is far above float rounding),
    and a diverged image's ``F`` is checked for being finite instead of testing its safe
    scale with ``K + 1`` more matrix products (about 3 ms of an LCA-MD step on two cores
    where an image diverged)."""
    diverged = _polynomial_diverged(f, init, num_iters)
    scales = _fallback_init(f, init, diverged)
    if check == 'device':
        return polynomial_newton_schulz(f, vectors, scales, num_iters), diverged.sum()
    num_bad = int(diverged.sum())
    if num_bad and not bool(torch.isfinite(f.detach()[diverged]).all()):
        raise _still_diverged(name)
    return polynomial_newton_schulz(f, vectors, scales, num_iters), num_bad


def _device_checked(f: torch.Tensor, num_iters: int, init: torch.Tensor,
                    vectors: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    """The loop's fallback decided on the device: no host synchronisation (the other
    solvers have their own, :func:`_eigen_checked` and :func:`_polynomial_checked`).

    A first run without autograd finds the diverged images; the second run, the one
    autograd records, starts each of them from the safe scale and every other image
    from ``init``, i.e. it is the host check's first run where nothing diverged and
    its re-run otherwise (same values, same gradients). If even the safe scale
    diverges (``f`` holds inf/NaN), the output is not finite and the loss shows it
    (``NonFiniteLossHook`` stops the run) instead of an error raised here.
    """
    with torch.no_grad():
        _, diverged = newton_schulz(f.detach(), num_iters, init)
        init = _fallback_init(f, init, diverged)
    x, _ = newton_schulz(f, num_iters, init, vectors)
    return x, diverged.sum()
