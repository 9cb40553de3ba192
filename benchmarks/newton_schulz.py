"""Cost of SSFM's Newton-Schulz block (SCM, LCA-MD) on CPU: loop vs eigenbasis vs rows,
and the backward's recurrence weight in place vs with a fresh tensor per operation.

In one process, alternating, fastest and median of ``--reps``:

* one ``CrossPatchActivationBlock`` forward and backward (batch 8, 200 classes, 14 x 14
  patches, SCM's 4-neighbour graph) with ``ns_solver='loop'`` (the released ``2K``
  batched products) and ``'eigen'`` (one eigendecomposition; the CPU default);
* the ``(B, N, N)`` float64 weight of the eigenbasis backward, built in place
  (``_recurrence_weight``, this release) and with a fresh tensor per operation (the
  previous release, written out below); the two must be the same bits, or the script fails;
  then, as the backward uses it (``-W * outer``), torch's in-place recurrence against the
  compiled kernel (``_weighted_outer`` with numba, this release), again the same bits;

It then adds the weight's saving up per step: SCM runs ``K = 16, 4, 4, 4``, LCA-MD
``16, 4``. Then the same block with ``'eigen'`` against ``'polynomial'`` (``X_K`` applied
to the activation as ``2^(K+1) - 1`` row products, the CPU default up to
``POLYNOMIAL_MAX_ITERS`` steps) for ``K = 4, 5`` on LCA-MD's 40-offset graph, outputs
checked equal to float32 rounding first, and the saving per step, and the rows' backward by
autograd through the ``2^K - 1`` products (the previous release, written out below) against
the written-out backward of ``PolynomialNewtonSchulz`` (one product of the stacked rows for
``F``'s gradient), gradients checked equal to float32 rounding. Last, the divergence
guard's re-run in the eigenbasis (LCA-MD's 40-offset graph, one image with one-hot patch
features, which diverges from ``alpha = 0.002``): a second decomposition (the previous
release: the loop's re-run, solved again) against the re-run that reuses the first
decomposition (this release), forward and backward of the solve, values checked equal.

Usage:
    python benchmarks/newton_schulz.py [--reps 15] [--batch 8] [--threads 2]
"""
from typing import Callable

import torch
from alternating import alternate, micro_args, row  # benchmarks/ (on sys.path)

from wsol_mm.models.layers import CrossPatchActivationBlock
from wsol_mm.models.utils.newton_schulz import _fallback_init, guarded_newton_schulz, newton_schulz
from wsol_mm.models.utils.patch_graph import build_patch_laplacian
from wsol_mm.models.utils.polynomial_newton_schulz import (
    POLYNOMIAL_MAX_ITERS,
    polynomial_newton_schulz,
)
from wsol_mm.models.utils.symmetric_newton_schulz import (
    _KERNEL,
    _kernel,
    _recurrence_weight,
    _weighted_outer,
)

STEPS = {'SCM': (16, 4, 4, 4), 'LCA-MD': (16, 4)}


def fresh_tensor_weight(xs: torch.Tensor, rs: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The previous release's loop: every operation allocates its ``(B, N, N)`` result."""
    weight = torch.zeros(x.shape + x.shape[-1:], dtype=torch.float64, device=x.device)
    for x_k, r_k in zip(xs, rs):
        weight = ((r_k.unsqueeze(-1) + r_k.unsqueeze(-2)) * weight
                  + x_k.unsqueeze(-1) * x_k.unsqueeze(-2))
    return weight


def autograd_rows(f: torch.Tensor, vectors: torch.Tensor, alpha: torch.Tensor,
                  k: int) -> torch.Tensor:
    """The previous release's rows, differentiated by autograd through every product."""
    start = alpha.detach() * f.detach().transpose(1, 2)

    def rows_times(rows: torch.Tensor, k: int) -> torch.Tensor:
        if k == 0:
            return torch.bmm(rows, start)
        y = rows_times(rows, k - 1)
        return 2 * y - rows_times(torch.bmm(y, f), k - 1)
    return rows_times(vectors.transpose(1, 2), k).transpose(1, 2)


def compiled_weight_row(xs: torch.Tensor, rs: torch.Tensor, x: torch.Tensor, k: int,
                        reps: int) -> float:
    """``-W * outer`` (float32 outer, as in a step): torch's in-place recurrence against
    the compiled kernel; the fastest saving in ms (0 without numba)."""
    kernel = _kernel()
    if kernel is None:
        print(f'| backward -W * outer K={k}, torch -> compiled | numba missing | - | - |')
        return 0.0
    outer = torch.randn(x.shape + x.shape[-1:], generator=torch.Generator().manual_seed(k))

    def torch_side() -> torch.Tensor:
        _KERNEL['fn'] = None
        try:
            return _weighted_outer(xs, rs, x, outer.clone())
        finally:
            _KERNEL['fn'] = kernel

    def compiled() -> torch.Tensor:
        return _weighted_outer(xs, rs, x, outer.clone())
    with torch.no_grad():  # as in a backward: the kernel only runs without grad mode
        if not torch.equal(torch_side(), compiled()):
            raise SystemExit(f'K={k}: the compiled -W * outer differs from torch\'s')
        times = alternate({'torch': torch_side, 'compiled': compiled}, reps)
    return row(f'backward -W * outer K={k}, torch in place -> compiled', times, 'torch',
               'compiled')


def polynomial_backward_row(fused: torch.Tensor, vec: torch.Tensor, k: int,
                            reps: int) -> float:
    """Forward and backward of the rows: autograd through the products against the
    written-out backward; the fastest saving in ms."""
    alpha = torch.full((fused.shape[0], 1, 1), 0.002)
    sides = {'autograd': autograd_rows, 'written': polynomial_newton_schulz}

    def run(name: str) -> Callable[[], tuple]:
        def step() -> tuple:
            f, v = fused.clone().requires_grad_(True), vec.clone().requires_grad_(True)
            out = sides[name](f, v, alpha, k)
            out.sum().backward()
            return out.detach(), f.grad, v.grad
        return step
    for a, b in zip(run('autograd')(), run('written')()):
        if not torch.allclose(a, b, rtol=1e-4, atol=1e-6):
            raise SystemExit(f'K={k}: the written-out backward differs from autograd\'s')
    times = alternate({name: run(name) for name in sides}, reps)
    return row(f'rows K={k} forward + backward, autograd -> written out', times, 'autograd',
               'written')


def fallback_rows(batch: int, reps: int) -> None:
    """The guard's re-run for a batch whose image 0 diverges: two decompositions vs one."""
    gen = torch.Generator().manual_seed(1)
    maps = torch.rand(batch, 200, 14, 14, generator=gen) + 0.5
    maps[0] = torch.eye(196)[:200].reshape(196, 14, 14).repeat(2, 1, 1)[:200]
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3)
    tokens = torch.nn.functional.normalize(maps.flatten(2).transpose(1, 2), dim=-1)
    fused = lap * (tokens @ tokens.transpose(1, 2) - 1)
    vec = torch.rand(batch, 196, 1, generator=gen)
    init = torch.full((batch, 1, 1), 0.002)

    def two_solves() -> torch.Tensor:
        f = fused.clone().requires_grad_(True)
        _, bad = newton_schulz(f, 16, init, vec, solver='eigen')
        if int(bad.sum()) == 0:
            raise SystemExit('the fallback benchmark needs a diverging image')
        out, _ = newton_schulz(f, 16, _fallback_init(f, init, bad), vec, solver='eigen')
        out.sum().backward()
        return out.detach()

    def one_solve() -> torch.Tensor:
        f = fused.clone().requires_grad_(True)
        out, _ = guarded_newton_schulz(f, 16, 0.002, vectors=vec, solver='eigen')
        out.sum().backward()
        return out.detach()

    if not torch.allclose(two_solves(), one_solve(), rtol=1e-5, atol=1e-6):
        raise SystemExit('the one-decomposition re-run differs from the two-solve one')
    times = alternate({'two': two_solves, 'one': one_solve}, reps)
    row('fallback re-run K=16, second decomposition -> reused', times, 'two', 'one')


def block_step(block: CrossPatchActivationBlock, maps: torch.Tensor, act: torch.Tensor,
               lap: torch.Tensor) -> Callable[[], None]:
    """One forward and backward of ``block`` on fresh leaf copies of the maps."""
    def run() -> None:
        x = maps.clone().requires_grad_(True)
        out, new_act = block(x, act, lap)
        (out.sum() + new_act.sum()).backward()
    return run


def polynomial_rows(maps: torch.Tensor, act: torch.Tensor, reps: int) -> None:
    """One block, eigenbasis against rows, K = 4, 5 (LCA-MD's graph; the cost of either
    does not depend on the graph)."""
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3)
    saved = {}
    for k in (4, 5):  # a block refuses the rows above POLYNOMIAL_MAX_ITERS (5)
        blocks = {s: CrossPatchActivationBlock(k, ns_solver=s) for s in ('eigen', 'polynomial')}
        outs = {s: blocks[s](maps, act, lap)[0] for s in blocks}
        if not torch.allclose(outs['polynomial'], outs['eigen'], rtol=1e-4, atol=1e-5):
            raise SystemExit(f'K={k}: the polynomial block differs from the eigenbasis one')

        times = alternate({s: block_step(b, maps, act, lap) for s, b in blocks.items()}, reps)
        saved[k] = row(f'block K={k}, eigen -> polynomial', times, 'eigen', 'polynomial')
    tokens = torch.nn.functional.normalize(maps.flatten(2).transpose(1, 2), dim=-1)
    fused = lap * (tokens @ tokens.transpose(1, 2) - 1)
    backward_saved = polynomial_backward_row(fused, act.unsqueeze(-1), 4, reps)
    print(f'# POLYNOMIAL_MAX_ITERS = {POLYNOMIAL_MAX_ITERS}: the CPU default takes the rows up '
          'to that many steps')
    for method, ks in STEPS.items():
        print(f'# {method} ({", ".join(map(str, ks))} steps): the rows save '
              f'{sum(saved[k] for k in ks if k in saved):.1f} ms per training step '
              f'(fastest times); the written-out backward {backward_saved * ks.count(4):.1f} ms '
              'more')


def main() -> None:
    args = micro_args(__doc__, reps=15)
    gen = torch.Generator().manual_seed(0)
    maps = torch.rand(args.batch, 200, 14, 14, generator=gen) + 0.1
    act = torch.rand(args.batch, 196, generator=gen)
    lap = build_patch_laplacian(14, 14, 'four_neighbour')
    print(f'# {args.batch} images, 200 classes, 14 x 14 patches, {args.threads} threads, '
          f'fastest / median of {args.reps}, ms')
    print('| part | before | after | speed-up |\n| --- | --- | --- | --- |')
    saved, compiled = {}, {}
    for k in (16, 4):
        blocks = {s: CrossPatchActivationBlock(k, threshold_init=0.5, ns_solver=s)
                  for s in ('loop', 'eigen')}
        times = alternate({s: block_step(b, maps, act, lap) for s, b in blocks.items()},
                          args.reps)
        row(f'block K={k}, loop -> eigen', times, 'loop', 'eigen')
        # The scalar iterates of a real block's fusion matrix, as the eigen forward keeps them.
        with torch.no_grad():
            tokens = torch.nn.functional.normalize(maps.flatten(2).transpose(1, 2), dim=-1)
            lam = torch.linalg.eigh(lap * (tokens @ tokens.transpose(1, 2) - 1))[0].double()
        x, xs, rs = 0.002 * lam, [], []
        for _ in range(k):
            r = 1 - lam * x
            xs.append(x)
            rs.append(r)
            x = x * (1 + r)
        xs_t, rs_t = torch.stack(xs), torch.stack(rs)
        if not torch.equal(_recurrence_weight(xs_t, rs_t, x), fresh_tensor_weight(xs_t, rs_t, x)):
            raise SystemExit(f'K={k}: the in-place weight differs from the recurrence')
        times = alternate({'fresh': lambda: fresh_tensor_weight(xs_t, rs_t, x),
                           'inplace': lambda: _recurrence_weight(xs_t, rs_t, x)}, args.reps)
        saved[k] = row(f'backward weight K={k}, fresh tensors -> in place', times, 'fresh',
                       'inplace')
        compiled[k] = compiled_weight_row(xs_t, rs_t, x, k, args.reps)
    for method, ks in STEPS.items():
        print(f'# {method} ({", ".join(map(str, ks))} steps): the in-place weight saves '
              f'{sum(saved[k] for k in ks):.1f} ms per training step, the compiled one '
              f'{compiled[16] * ks.count(16):.1f} ms more (fastest times; the eigenbasis runs '
              'only the 16-step block on CPU)')
    polynomial_rows(maps, act, args.reps)
    fallback_rows(args.batch, args.reps)


if __name__ == '__main__':
    main()
