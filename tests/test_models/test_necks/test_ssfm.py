import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from wsol_mm.models.layers import CrossPatchActivationBlock
from wsol_mm.models.necks import SSFM
from wsol_mm.models.utils.newton_schulz import guarded_newton_schulz
from wsol_mm.models.utils.patch_graph import build_patch_laplacian


def _dense_adjacency(h, w, cross):
    """Brute-force adjacency from the geometric rule (independent of patch_graph)."""
    n = h * w
    adj = torch.zeros(n, n, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            dy, dx = abs(i // w - j // w), abs(i % w - j % w)
            if i != j and max(dy, dx) <= cross and (dy == 0 or dx == 0 or dy == dx
                                                     or (min(dy, dx) > 0 and abs(dy - dx) == 1)):
                adj[i, j] = 1
    return adj


def _geometric_series(r, iters):
    """``sum_{j < 2^iters} R^j`` by doubling: ``S_2m = S_m + R^m S_m``."""
    series, power = torch.eye(r.shape[0], dtype=r.dtype), r
    for _ in range(iters):
        series = series + power @ series
        power = power @ power
    return series


def _dense_block(x, act, adj, iters, thr, lam, alpha):
    """One block with dense float64 matrices: NS written in closed form.

    ``X_K = alpha F^T sum_{j < 2^K} R^j`` with ``R = I - alpha F F^T``.
    """
    b, c, h, w = x.shape
    lap = torch.diag(adj.sum(0)) - adj
    outs, acts = [], []
    for k in range(b):
        t = x[k].reshape(c, -1).t().double()
        t = t / torch.linalg.vector_norm(t, dim=1, keepdim=True)
        f = lap * (lam * (t @ t.t()) - 1)
        eye = torch.eye(f.shape[0], dtype=torch.float64)
        r = eye - alpha * f @ f.t()
        series = _geometric_series(r, iters)
        p = (alpha * f.t() @ series).t()
        u = p @ act[k].double()
        u = u / (thr * act[k].max())
        u = u - torch.tanh(u)
        u = (u - u.min()) / (u.max() - u.min())
        outs.append(x[k].double() * (1 + u.view(1, h, w)))
        acts.append(act[k].double() + u)
    return torch.stack(outs), torch.stack(acts)


def _inputs(b=2, c=5, h=4, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    # Positive features: correlated patches, as in a trained class map.
    x = torch.rand(b, c, h, w, generator=g) + 0.2
    act = torch.rand(b, h * w, generator=g)
    return x, act


@pytest.mark.parametrize('iters,lam', [(2, 1.0), (4, 1.3)])
def test_block_matches_dense(iters, lam):
    x, act = _inputs()
    block = CrossPatchActivationBlock(num_iters=iters, threshold_init=0.7, lambda_init=lam)
    lap = build_patch_laplacian(4, 4, 'multi_direction', cross=3)
    # The parameters are float32: feed their exact values to the float64 reference.
    thr, lam32 = float(block.threshold.detach()), float(block.fusion_weight.detach())
    exp_out, exp_act = _dense_block(x, act, _dense_adjacency(4, 4, 3), iters, thr, lam32, 0.002)
    out, new_act = block(x.double(), act.double(), lap)
    torch.testing.assert_close(out, exp_out, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(new_act, exp_act, rtol=1e-9, atol=1e-10)
    assert block.last_num_fallbacks == 0
    # float32 (as trained): tanhshrink(z) ~ z^3 / 3 loses digits for small z.
    out32, _ = block(x, act, lap)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), exp_out, rtol=1e-2, atol=1e-3)


def test_ssfm_two_blocks_and_gradients():
    x, act = _inputs(c=6, h=5, w=5, seed=1)
    x.requires_grad_(True)
    ssfm = SSFM()  # LCA-MD defaults
    assert [layer.num_iters for layer in ssfm.layers] == [16, 4]
    assert all(float(layer.threshold.detach()) == pytest.approx(0.7) for layer in ssfm.layers)
    out, new_act = ssfm(x.double(), act.double())
    adj = _dense_adjacency(5, 5, 3)
    thr = float(ssfm.layers[0].threshold.detach())
    e1, a1 = _dense_block(x.detach(), act, adj, 16, thr, 1.0, 0.002)
    e2, a2 = _dense_block(e1, a1, adj, 4, thr, 1.0, 0.002)
    torch.testing.assert_close(out, e2, rtol=1e-7, atol=1e-8)
    torch.testing.assert_close(new_act, a2, rtol=1e-7, atol=1e-8)
    out.mean().backward()
    for layer in ssfm.layers:
        assert layer.threshold.grad is not None and torch.isfinite(layer.threshold.grad).all()
        assert layer.fusion_weight.grad is not None and layer.fusion_weight.grad.abs() > 0
    assert torch.isfinite(x.grad).all()


def test_scm_configuration():
    ssfm = SSFM(graph='four_neighbour', num_layers=4, threshold_init=0.5)
    assert [layer.num_iters for layer in ssfm.layers] == [16, 4, 4, 4]
    lap = ssfm.laplacian(14, 14)
    assert torch.diagonal(lap).max() == 4 and torch.diagonal(lap).min() == 2
    # Uncorrelated features: the 4-neighbour graph cannot diverge.
    x = torch.eye(196).view(1, 196, 14, 14)
    out, _ = ssfm(x, torch.rand(1, 196))
    assert torch.isfinite(out).all() and ssfm.last_num_fallbacks == 0
    assert set(ssfm.state_dict()) == {f'layers.{i}.{n}' for i in range(4)
                                      for n in ('threshold', 'fusion_weight')}


def _orthogonal_features():
    # One-hot features: Sim = I, so F is the 40-neighbour adjacency and
    # 0.002 * sigma_max(F)^2 > 2 (the spec's divergence case).
    return torch.eye(196).view(1, 196, 14, 14).repeat(2, 1, 1, 1)


def test_newton_schulz_divergence_detected():
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3).double()
    sigma = torch.linalg.matrix_norm(-lap + torch.diag(torch.diagonal(lap)), ord=2)
    assert 0.002 * sigma**2 > 2
    block = CrossPatchActivationBlock(num_iters=16, on_divergence='raise')
    with pytest.raises(FloatingPointError, match='diverged for 2/2 images'):
        block(_orthogonal_features(), torch.rand(2, 196), lap.float())


def test_newton_schulz_fallback_is_finite_and_safe():
    x = _orthogonal_features()
    x[1] = torch.rand(196, 14, 14) + 0.5  # correlated image: no fallback needed
    x.requires_grad_(True)
    act = torch.rand(2, 196)
    ssfm = SSFM()
    out, new_act = ssfm(x, act)
    assert ssfm.layers[0].last_num_fallbacks == 1
    assert torch.isfinite(out).all() and torch.isfinite(new_act).all()
    out.sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(ssfm.layers[0].threshold.grad).all()
    # The correlated image is untouched by the other image's fallback: alone it needs no
    # fallback, and batched with the diverging image it gives the same values. Batched and
    # single-image GEMMs round differently on some CPU kernels (AVX-512/AMX vs AVX2), so the
    # values are compared in float64, where that rounding is ~1e-16 relative and 16 + 4
    # Newton-Schulz steps keep it far below the tolerance; a leaked fallback scale changes
    # the result at the 1e-2 level.
    ssfm64 = SSFM().double()
    out64, _ = ssfm64(x.detach().double(), act.double())
    assert ssfm64.layers[0].last_num_fallbacks == 1
    ref, _ = ssfm64(x[1:].detach().double(), act[1:].double())
    assert ssfm64.last_num_fallbacks == 0
    torch.testing.assert_close(out64[1:], ref, rtol=1e-9, atol=1e-12)
    # float32 as trained: the same values up to float32 GEMM rounding.
    torch.testing.assert_close(out[1:].detach().double(), ref, rtol=1e-3, atol=1e-4)


def test_guarded_newton_schulz_fallback_scale():
    # Fallback uses alpha' = 1 / (||F||_1 ||F||_inf), checked in closed form.
    f = torch.tensor([[[2., 1.], [0., 3.]]], dtype=torch.float64)
    inv, fallbacks = guarded_newton_schulz(f, num_iters=3, alpha=1.0)
    assert fallbacks == 1  # 1.0 * sigma_max^2 > 2
    a = 1 / (4. * 3.)  # ||F||_1 = max col sum 4, ||F||_inf = max row sum 3
    r = torch.eye(2, dtype=torch.float64) - a * f[0] @ f[0].t()
    expected = a * f[0].t() @ sum(torch.linalg.matrix_power(r, j) for j in range(8))  # 2^3 terms
    torch.testing.assert_close(inv[0], expected)
    with pytest.raises(ValueError, match='on_divergence'):
        guarded_newton_schulz(f, 3, 1.0, on_divergence='ignore')


def test_ssfm_bad_arguments():
    with pytest.raises(ValueError, match='num_iters'):
        SSFM(num_layers=3, num_iters=[16, 4])
    with pytest.raises(ValueError, match='graph'):
        SSFM(graph='eight')


def test_zero_activation_stays_finite():
    # Constant attention -> min-max gives 0 everywhere; the block must not produce 0 / 0.
    x, _ = _inputs()
    lap = build_patch_laplacian(4, 4, 'multi_direction', cross=3)
    out, act = CrossPatchActivationBlock(num_iters=4)(x, torch.zeros(2, 16), lap)
    torch.testing.assert_close(out, x)
    assert torch.equal(act, torch.zeros(2, 16))


class _HostReads(TorchDispatchMode):
    """Counts tensor values read on the host (``.item()``, ``int()``, ``bool()``): on a GPU
    each one waits for the queued work."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize('solver', ['loop', 'eigen', 'auto'])  # auto: polynomial for K = 4
def test_device_fallback_check_matches_host_check(solver):
    # One diverging and one correlated image, two blocks (16 and 4 steps): the device
    # check must give the host check's values, gradients and fallback count without
    # reading anything on the host. Both run the same operations on the same shapes;
    # the tolerance only absorbs a non-deterministic kernel.
    g = torch.Generator().manual_seed(3)
    x = _orthogonal_features().double()
    x[1] = torch.rand(196, 14, 14, generator=g, dtype=torch.float64) + 0.5
    act = torch.rand(2, 196, generator=g, dtype=torch.float64)
    got = {}
    for check in ('host', 'device'):
        ssfm = SSFM(ns_solver=solver, fallback_check=check).double()
        xi = x.clone().requires_grad_(True)
        with _HostReads() as reads:
            out, new_act = ssfm(xi, act)
            fallbacks = ssfm.last_num_fallbacks
        (out.sum() + new_act.square().sum()).backward()
        grads = [xi.grad] + [p.grad for p in ssfm.parameters()]
        got[check] = (out, new_act, grads, fallbacks, reads.count)
    host, device = got['host'], got['device']
    # the host check reads once per block and once more per re-run; the device check never
    assert host[4] >= 2 and device[4] == 0
    assert isinstance(host[3], int) and host[3] >= 1  # image 0 falls back (in both blocks)
    assert isinstance(device[3], torch.Tensor) and int(device[3]) == host[3]
    for a, b in zip([host[0], host[1]] + host[2], [device[0], device[1]] + device[2]):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(b, a, rtol=1e-12, atol=1e-14)


def test_device_fallback_check_logs_count_and_keeps_raise():
    x = _orthogonal_features()
    x[1] = torch.rand(196, 14, 14) + 0.5
    ssfm = SSFM(fallback_check='device')
    refined, terms = ssfm.forward_train(x, torch.rand(2, 1, 14, 14))
    assert refined.shape == x.shape and torch.isfinite(refined).all()
    assert terms['ssfm_ns_fallbacks'].dtype == torch.float32
    # image 0 stays one-hot through the first block, so it falls back in both
    assert float(terms['ssfm_ns_fallbacks']) == 2.0
    # 'raise' must stop the step, so it reads the count on the host whatever the check
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3)
    block = CrossPatchActivationBlock(16, on_divergence='raise', fallback_check='device')
    with pytest.raises(FloatingPointError, match='diverged for 1/2 images'):
        block(x, torch.rand(2, 196), lap)
    with pytest.raises(ValueError, match='fallback_check'):
        CrossPatchActivationBlock(4, fallback_check='gpu')
    with pytest.raises(ValueError, match='check'):
        guarded_newton_schulz(torch.eye(2)[None], 2, 0.5, check='auto')
