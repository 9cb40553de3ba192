"""The eigenbasis Newton-Schulz (SSFM on CPU) equals the released loop: values, test, grads."""
import pytest
import torch

from wsol_mm.models.layers import CrossPatchActivationBlock
from wsol_mm.models.utils import symmetric_newton_schulz as sns
from wsol_mm.models.utils.newton_schulz import guarded_newton_schulz, newton_schulz
from wsol_mm.models.utils.patch_graph import build_patch_laplacian
from wsol_mm.models.utils.symmetric_newton_schulz import SymmetricNewtonSchulz, _recurrence_weight


def _symmetric(b: int, n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(b, n, n, generator=g, dtype=torch.float64)
    return (a + a.transpose(1, 2)) / 2


@pytest.mark.parametrize('num_iters', [0, 1, 6])
def test_values_divergence_and_gradients_match_the_loop(num_iters):
    f = _symmetric(3, 9, seed=num_iters)
    v = torch.randn(3, 9, 2, dtype=torch.float64)
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    # images 0, 1 converge (alpha sigma^2 < 2); image 2 diverges (alpha sigma^2 = 3).
    alpha = torch.stack([0.5 / sigma2[0], 1.9 / sigma2[1], 3.0 / sigma2[2]]).view(3, 1, 1)
    weight = torch.randn(3, 9, 2, dtype=torch.float64)
    results = []
    for solver in ('loop', 'eigen'):
        fs, vs = f.clone().requires_grad_(True), v.clone().requires_grad_(True)
        out, diverged = newton_schulz(fs, num_iters, alpha, vs, solver=solver)
        (out[:2] * weight[:2]).sum().backward()  # the diverged image's values are huge
        grad_f = torch.zeros_like(f) if fs.grad is None else fs.grad  # K = 0: X_0 is constant
        results.append((out.detach(), diverged, grad_f, vs.grad))
    (loop, loop_bad, loop_gf, loop_gv), (eig, eig_bad, eig_gf, eig_gv) = results
    assert loop_bad.tolist() == eig_bad.tolist()
    assert loop_bad.tolist()[:2] == [False, False] and bool(loop_bad[2]) == (num_iters > 0)
    torch.testing.assert_close(eig[:2], loop[:2], rtol=1e-9, atol=1e-10)
    # The released gradient: X_0 = alpha F^T is a constant, the K steps are differentiated.
    torch.testing.assert_close(eig_gf, loop_gf, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(eig_gv, loop_gv, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize('solver', ['eigen', 'polynomial'])
def test_solvers_need_vectors(solver):
    with pytest.raises(ValueError, match='vectors'):
        newton_schulz(_symmetric(1, 3, 0), 2, torch.full((1, 1, 1), 0.1), solver=solver)
    with pytest.raises(ValueError, match='vectors'):
        guarded_newton_schulz(_symmetric(1, 3, 0), 2, 0.1, solver=solver)


def test_unknown_solver_is_refused():
    with pytest.raises(ValueError, match="solver must be one of.*got \"svd\""):
        newton_schulz(_symmetric(1, 3, 0), 2, torch.full((1, 1, 1), 0.1), solver='svd')


# 'auto' on CPU: the rows for 4 steps, the eigenbasis for 16
@pytest.mark.parametrize('solver, num_iters', [('eigen', 16), ('auto', 16), ('polynomial', 4),
                                               ('auto', 4)])
def test_block_solvers_agree_and_bad_solver_is_refused(solver, num_iters):
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(2, 6, 5, 5, generator=g, dtype=torch.float64) + 0.2)
    act = torch.rand(2, 25, generator=g, dtype=torch.float64)
    lap = build_patch_laplacian(5, 5, 'multi_direction', cross=3).double()
    outs = []
    for name in ('loop', solver):
        block = CrossPatchActivationBlock(num_iters=num_iters, ns_solver=name).double()
        xs = x.clone().requires_grad_(True)
        out, new_act = block(xs, act, lap)
        (out.square().sum() + new_act.sum()).backward()
        outs.append((out.detach(), new_act.detach(), xs.grad, block.threshold.grad,
                     block.fusion_weight.grad))
    for a, b in zip(*outs):
        torch.testing.assert_close(b, a, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match='ns_solver'):
        CrossPatchActivationBlock(num_iters=4, ns_solver='svd')


@pytest.mark.parametrize('num_iters', [0, 1, 2, 16])
def test_backward_weight_is_the_recurrence(num_iters):
    """The in-place weight equals the recurrence written out with fresh tensors (same
    element-wise roundings, so the same bits) and its closed sum to float64 precision."""
    g = torch.Generator().manual_seed(num_iters)
    lam = torch.rand(2, 7, generator=g, dtype=torch.float64) * 3 - 0.5
    x = 0.3 * lam
    xs, rs = [], []
    for _ in range(num_iters):
        r = 1 - lam * x
        xs.append(x)
        rs.append(r)
        x = x * (1 + r)
    empty = lam.new_zeros((0, ) + lam.shape)
    xs_t, rs_t = (torch.stack(xs), torch.stack(rs)) if xs else (empty, empty)
    weight = _recurrence_weight(xs_t, rs_t, x)
    expected = torch.zeros(2, 7, 7, dtype=torch.float64)
    for x_k, r_k in zip(xs, rs):
        expected = ((r_k.unsqueeze(-1) + r_k.unsqueeze(-2)) * expected
                    + x_k.unsqueeze(-1) * x_k.unsqueeze(-2))
    assert torch.equal(weight, expected)
    # W = sum_k x_k,i x_k,j prod_{l > k} (r_l,i + r_l,j)
    closed = torch.zeros(2, 7, 7, dtype=torch.float64)
    for k in range(num_iters):
        term = xs[k].unsqueeze(-1) * xs[k].unsqueeze(-2)
        for r_l in rs[k + 1:]:
            term = term * (r_l.unsqueeze(-1) + r_l.unsqueeze(-2))
        closed = closed + term
    torch.testing.assert_close(weight, closed, rtol=1e-12, atol=1e-12)


def _iterates(num_iters: int, seed: int) -> tuple:
    g = torch.Generator().manual_seed(seed)
    lam = torch.rand(3, 11, generator=g, dtype=torch.float64) * 3 - 0.5
    x, xs, rs, _ = sns._scalar_iteration(lam, torch.full((3, ), 0.3, dtype=torch.float64),
                                         num_iters)
    return torch.stack(xs), torch.stack(rs), x


@pytest.mark.parametrize('num_iters', [1, 2, 16])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_compiled_weighted_outer_is_the_torch_recurrence(num_iters, dtype):
    """The numba kernel gives ``-W * outer`` in ``outer``'s dtype with the torch recurrence's
    bits: per element the same IEEE operations in the same order (no reduction, no fused
    multiply-add), so equality is exact on any CPU."""
    pytest.importorskip('numba')
    xs, rs, x = _iterates(num_iters, seed=num_iters)
    outer = torch.randn(3, 11, 11, dtype=dtype)
    expected = -_recurrence_weight(xs, rs, x).to(dtype) * outer
    with torch.no_grad():
        got = sns._weighted_outer(xs, rs, x, outer.clone())
    assert got.dtype == dtype
    assert torch.equal(got, expected)


def test_weighted_outer_paths(monkeypatch):
    """The kernel runs in a plain backward; torch's recurrence without numba and under
    ``create_graph`` (grad mode on: a second derivative needs torch's operations)."""
    pytest.importorskip('numba')
    xs, rs, x = _iterates(4, seed=0)
    outer = torch.randn(3, 11, 11, dtype=torch.float64)
    calls = []
    kernel = sns._kernel()
    monkeypatch.setitem(sns._KERNEL, 'fn', lambda *a: calls.append(1) or kernel(*a))
    with torch.no_grad():
        fast = sns._weighted_outer(xs, rs, x, outer.clone())
    assert calls == [1]
    f = _symmetric(3, 11, seed=1).requires_grad_(True)
    v = torch.randn(3, 11, 1, dtype=torch.float64)
    out, _, _ = SymmetricNewtonSchulz.apply(f, v, torch.full((3, ), 0.01, dtype=torch.float64),
                                            16)
    out.sum().backward()
    assert calls == [1, 1]  # the eigenbasis backward took the kernel
    slow_outer = outer.clone().requires_grad_(True)
    slow = sns._weighted_outer(xs, rs, x, slow_outer)  # grad mode on
    assert calls == [1, 1] and slow.grad_fn is not None
    torch.testing.assert_close(slow.detach(), fast, rtol=0, atol=0)
    monkeypatch.setitem(sns._KERNEL, 'fn', None)  # numba missing
    with torch.no_grad():
        torch.testing.assert_close(sns._weighted_outer(xs, rs, x, outer.clone()), fast,
                                   rtol=0, atol=0)


@pytest.mark.parametrize('check', ['host', 'device'])
def test_fallback_reuses_the_decomposition(check, monkeypatch):
    """The guard's re-run from the safe scale costs no second eigendecomposition (and
    the device check no probe solve), with the loop's re-run values and gradients."""
    f = _symmetric(3, 9, seed=5) * torch.tensor([1.0, 3.0, 0.5]).view(3, 1, 1)
    v = torch.randn(3, 9, 1, dtype=torch.float64)
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    alpha = float(1.5 / sigma2[0])
    assert (alpha * sigma2 > 2).tolist() == [False, True, False]  # image 1 diverges
    diverging = 1
    calls = []
    eigh = torch.linalg.eigh
    monkeypatch.setattr(torch.linalg, 'eigh', lambda a: calls.append(a.shape) or eigh(a))
    results = []
    for solver in ('loop', 'eigen'):
        fs, vs = f.clone().requires_grad_(True), v.clone().requires_grad_(True)
        out, count = guarded_newton_schulz(fs, 6, alpha, vectors=vs, solver=solver,
                                           check=check)
        (out * v).sum().backward()
        results.append((out.detach(), int(count), fs.grad, vs.grad))
    assert len(calls) == 1  # the eigenbasis run only; the loop never decomposes
    (loop, loop_n, loop_gf, loop_gv), (eig, eig_n, eig_gf, eig_gv) = results
    assert eig_n == loop_n == diverging
    assert torch.isfinite(eig).all() and torch.isfinite(eig_gf).all()
    torch.testing.assert_close(eig, loop, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(eig_gf, loop_gf, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(eig_gv, loop_gv, rtol=1e-8, atol=1e-10)


def test_fallback_keeps_the_other_images_bits():
    """Images that converge from the configured scale get the same values with and without
    the fallback scale given (the re-run changes only the diverged images' scales; a leaked
    safe scale would change them at the 1e-2 level). Two calls decompose separately, so the
    values are compared to float64 rounding, not bitwise."""
    f = _symmetric(3, 9, seed=6)
    v = torch.randn(3, 9, 1, dtype=torch.float64)
    sigma2 = torch.linalg.matrix_norm(f, ord=2) ** 2
    alpha = torch.full((3, ), float(1.5 / sigma2.max()), dtype=torch.float64)
    alpha[2] = 3.0 / sigma2[2]
    plain, bad, still = SymmetricNewtonSchulz.apply(f, v, alpha, 6)
    assert bad.tolist() == [False, False, True] and torch.equal(still, bad)
    safe = torch.full((3, ), 0.5, dtype=torch.float64) / sigma2
    fixed, bad2, still2 = SymmetricNewtonSchulz.apply(f, v, alpha, 6, safe)
    assert bad2.tolist() == [False, False, True] and not still2.any()
    torch.testing.assert_close(fixed[:2], plain[:2], rtol=1e-12, atol=1e-14)
    assert torch.isfinite(fixed[2]).all()
