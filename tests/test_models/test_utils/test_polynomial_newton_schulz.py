"""The polynomial Newton-Schulz (SSFM's few-step blocks on CPU) equals the released loop:
values, divergence test, fallback and gradients, with K + 1 matrix products."""
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from wsol_mm.models.layers import CrossPatchActivationBlock
from wsol_mm.models.necks import SSFM
from wsol_mm.models.utils.newton_schulz import guarded_newton_schulz, newton_schulz
from wsol_mm.models.utils.patch_graph import build_patch_laplacian
from wsol_mm.models.utils.polynomial_newton_schulz import (
    POLYNOMIAL_MAX_ITERS,
    polynomial_newton_schulz,
    residual_norms,
)


def _matrices(b: int, n: int, seed: int, symmetric: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(b, n, n, generator=g, dtype=torch.float64)
    return (a + a.transpose(1, 2)) / 2 if symmetric else a


def _scales(f: torch.Tensor, factors) -> torch.Tensor:
    """``alpha`` per image with ``alpha * sigma_max(F)^2`` = each factor (> 2 diverges)."""
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    return (torch.tensor(factors, dtype=torch.float64) / sigma2).view(-1, 1, 1)


class _Ops(TorchDispatchMode):
    """Counts host reads and the batched products by operand shapes."""

    def __init__(self):
        super().__init__()
        self.host_reads, self.products = 0, []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.host_reads += 1
        if func in (torch.ops.aten.bmm.default, torch.ops.aten.bmm.out):
            self.products.append((tuple(args[0].shape[1:]), tuple(args[1].shape[1:])))
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('symmetric', [True, False])
@pytest.mark.parametrize('num_iters', [0, 1, 2, 4, 5])
def test_values_divergence_and_gradients_match_the_loop(num_iters, symmetric):
    # any square F: the rows follow X_{k+1} = X_k (2I - F X_k) from X_0 = alpha F^T
    f = _matrices(3, 9, seed=num_iters, symmetric=symmetric)
    v = torch.randn(3, 9, 2, dtype=torch.float64)
    alpha = _scales(f, [0.5, 1.9, 3.0])  # image 2 diverges
    weight = torch.randn(3, 9, 2, dtype=torch.float64)
    results = []
    for solver in ('loop', 'polynomial'):
        fs, vs = f.clone().requires_grad_(True), v.clone().requires_grad_(True)
        out, diverged = newton_schulz(fs, num_iters, alpha, vs, solver=solver)
        (out[:2] * weight[:2]).sum().backward()
        grad_f = torch.zeros_like(f) if fs.grad is None else fs.grad  # K = 0: X_0 is constant
        results.append((out.detach(), diverged, grad_f, vs.grad))
    (loop, loop_bad, loop_gf, loop_gv), (poly, poly_bad, poly_gf, poly_gv) = results
    assert poly_bad.tolist() == loop_bad.tolist() == [False, False, num_iters > 0]
    torch.testing.assert_close(poly[:2], loop[:2], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(poly_gf, loop_gf, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(poly_gv, loop_gv, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize('num_iters', [0, 3])
def test_residual_norms_are_the_loops_residuals(num_iters):
    f = _matrices(2, 7, seed=11, symmetric=False)
    alpha = _scales(f, [1.0, 2.5])
    x = alpha * f.transpose(1, 2)
    eye = torch.eye(7, dtype=torch.float64)
    first = torch.linalg.matrix_norm(eye - f @ x)
    for _ in range(num_iters):
        x = x @ (2 * eye - f @ x)
    res0, res = residual_norms(f, alpha, num_iters)
    torch.testing.assert_close(res0, first, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(res, torch.linalg.matrix_norm(eye - f @ x), rtol=1e-10, atol=1e-12)


def test_cost_is_k_plus_one_matrix_products():
    """Forward and backward: K + 1 gradient-free (N, N) products for the test, one product
    of the 2^K - 1 stacked rows for F's gradient (no outer product per row product), every
    other product has a row operand (2^(K+1) - 1 in the forward)."""
    n, k = 12, 4
    f = _matrices(2, n, seed=1, symmetric=True).requires_grad_(True)
    v = torch.randn(2, n, 1, dtype=torch.float64, requires_grad=True)
    with _Ops() as ops:
        out, _ = guarded_newton_schulz(f, k, 1e-3, vectors=v, solver='polynomial')
        out.sum().backward()
    square = [p for p in ops.products if p == ((n, n), (n, n))]
    assert len(square) == k + 1
    rows = [p for p in ops.products if p[0] == (1, n) and p[1] == (n, n)]
    assert len(rows) >= 2 ** (k + 1) - 1
    stacked = [p for p in ops.products if p == ((n, 2 ** k - 1), (2 ** k - 1, n))]
    assert len(stacked) == 1
    assert not [p for p in ops.products if p == ((n, 1), (1, n))]
    with_rows = [p for p in ops.products if 1 in p[0] + p[1]]
    assert len(ops.products) == len(square) + len(stacked) + len(with_rows)


@pytest.mark.parametrize('check', ['host', 'device'])
def test_fallback_matches_the_loops_rerun(check):
    f = _matrices(3, 9, seed=5, symmetric=True) * torch.tensor([1.0, 3.0, 0.5]).view(3, 1, 1)
    v = torch.randn(3, 9, 1, dtype=torch.float64)
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    alpha = float(1.5 / sigma2[0])
    assert (alpha * sigma2 > 2).tolist() == [False, True, False]  # image 1 diverges
    results = []
    for solver in ('loop', 'polynomial'):
        fs, vs = f.clone().requires_grad_(True), v.clone().requires_grad_(True)
        with _Ops() as ops:
            out, count = guarded_newton_schulz(fs, 4, alpha, vectors=vs, solver=solver,
                                               check=check)
        (out * v).sum().backward()
        square = [p for p in ops.products if p == ((9, 9), (9, 9))]
        results.append((out.detach(), int(count), fs.grad, vs.grad, ops.host_reads,
                        len(square)))
    (loop, loop_n, loop_gf, loop_gv, _, _), (poly, poly_n, poly_gf, poly_gv, reads,
                                            squares) = results
    assert poly_n == loop_n == 1
    # host: the count and whether the diverged image's F is finite (the safe scale
    # provably contracts then: no second test); device: nothing read
    assert reads == (2 if check == 'host' else 0)
    assert squares == 4 + 1  # one test: R and its K squarings
    assert torch.isfinite(poly).all() and torch.isfinite(poly_gf).all()
    torch.testing.assert_close(poly, loop, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(poly_gf, loop_gf, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(poly_gv, loop_gv, rtol=1e-9, atol=1e-12)


def test_non_finite_input_and_raise_mode():
    f = _matrices(2, 5, seed=2, symmetric=True)
    v = torch.ones(2, 5, 1, dtype=torch.float64)
    bad = f.clone()
    bad[1, 0, 0] = float('nan')
    with pytest.raises(FloatingPointError, match='SSFM: Newton-Schulz diverged even from the '
                       'safe scale'):
        guarded_newton_schulz(bad, 4, 1e-3, name='SSFM', vectors=v, solver='polynomial')
    out, count = guarded_newton_schulz(bad, 4, 1e-3, vectors=v, solver='polynomial',
                                       check='device')
    assert int(count) == 1 and torch.isfinite(out[0]).all() and not torch.isfinite(out[1]).all()
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    f[0] *= 1.2 * (2 * sigma2[1] / sigma2[0]).sqrt()  # alpha sigma_max^2: 4.3 and 1.5
    message = r'diverged for 1/2 images \(batch indices \[0\]\)'
    with pytest.raises(FloatingPointError, match=message):
        guarded_newton_schulz(f, 4, float(1.5 / sigma2[1]), on_divergence='raise', vectors=v,
                              solver='polynomial')


def test_float32_stays_within_rounding_of_the_float64_loop():
    """LCA-MD's second block on its 40-offset graph in float32: ~31 row products, each with
    relative rounding ~1e-7, against the float64 loop."""
    g = torch.Generator().manual_seed(0)
    tokens = torch.nn.functional.normalize(torch.rand(4, 196, 200, generator=g) + 0.2, dim=-1)
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3)
    f = lap * (tokens @ tokens.transpose(1, 2) - 1)
    v = torch.rand(4, 196, 1, generator=g)
    alpha = torch.full((4, 1, 1), 0.002)
    ref, bad = newton_schulz(f.double(), 4, alpha.double(), v.double())
    assert not bad.any()
    got = polynomial_newton_schulz(f, v, alpha, 4)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got.double(), ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())


def test_block_auto_picks_by_steps_and_device():
    # the block's values with each solver against the loop's: test_symmetric_newton_schulz.py
    assert POLYNOMIAL_MAX_ITERS == 5
    picks = [(k, CrossPatchActivationBlock(num_iters=k).solver(on_cpu))
             for k in (4, 5, 6, 16) for on_cpu in (True, False)]
    assert picks == [(4, 'polynomial'), (4, 'loop'), (5, 'polynomial'), (5, 'loop'),
                     (6, 'eigen'), (6, 'loop'), (16, 'eigen'), (16, 'loop')]
    assert CrossPatchActivationBlock(num_iters=5, ns_solver='polynomial').solver(False) == \
        'polynomial'
    with pytest.raises(ValueError, match=r"ns_solver='polynomial' takes 2\^\(K\+1\) - 1 row "
                       r'products \(131071 for num_iters=16\); it is for at most 5 steps'):
        CrossPatchActivationBlock(num_iters=16, ns_solver='polynomial')
    with pytest.raises(ValueError, match='131071'):  # SSFM's first block has 16 steps
        SSFM(ns_solver='polynomial')
