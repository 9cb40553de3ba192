"""MethodSeedHook keys the methods' draws by (seed, iteration, stream, rank)."""
from types import SimpleNamespace

from wsol_mm.engine.hooks import MethodSeedHook
from wsol_mm.engine.hooks.method_seed_hook import METHOD_STREAM
from wsol_mm.models.utils import MethodRNG, method_rng
from wsol_mm.registry import HOOKS


def test_draws_depend_only_on_seed_and_iteration():
    hook = HOOKS.build(dict(type='MethodSeedHook'))
    assert isinstance(hook, MethodSeedHook)
    runner = SimpleNamespace(seed=3, iter=7)
    hook.before_train_iter(runner, batch_idx=0)
    first = method_rng().random(3)
    method_rng().random(100)  # whatever the iteration drew ...
    hook.before_train_iter(runner, batch_idx=0)  # ... a resumed run at iteration 7 replays it
    assert (method_rng().random(3) == first).all()
    assert (MethodRNG(3, 7, METHOD_STREAM, 0).random(3) == first).all()
    hook.before_train_iter(SimpleNamespace(seed=3, iter=8), batch_idx=1)
    assert not (method_rng().random(3) == first).all()
