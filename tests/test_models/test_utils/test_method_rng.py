"""MethodRNG: one generator, keyed seeding, lazy seeding from torch's seed."""
import numpy as np
import pytest
import torch

from wsol_mm.models.utils import MethodRNG, method_rng


def test_key_determines_every_draw():
    a, b, c = MethodRNG(0, 3, 2), MethodRNG(0, 3, 2), MethodRNG(0, 4, 2)
    draws = [a.random(), a.random((2, 3)), a.beta(1.0, 1.0), a.integers(7), a.permutation(5)]
    again = [b.random(), b.random((2, 3)), b.beta(1.0, 1.0), b.integers(7), b.permutation(5)]
    assert draws[0] == again[0] and np.array_equal(draws[1], again[1])
    assert draws[2] == again[2] and draws[3] == again[3] and torch.equal(draws[4], again[4])
    assert c.random() != MethodRNG(0, 3, 2).random()  # another iteration, another stream
    assert isinstance(draws[0], float) and draws[1].shape == (2, 3)
    assert 0 <= draws[2] <= 1 and 0 <= draws[3] < 7
    assert draws[4].dtype == torch.int64 and sorted(draws[4].tolist()) == list(range(5))


def test_reseeding_restarts_and_bad_keys_are_rejected():
    rng = MethodRNG(5)
    first = rng.random(4)
    rng.random(10)
    rng.seed(5)
    assert np.array_equal(rng.random(4), first)
    for key in ((), (-1, ), (1.5, )):
        with pytest.raises(ValueError, match='non-negative'):
            rng.seed(*key)


def test_unseeded_generator_follows_torch_seed():
    torch.manual_seed(1234)  # what mmengine's `randomness.seed` does
    state = torch.get_rng_state()
    assert MethodRNG().random() == MethodRNG(1234).random()
    assert torch.equal(torch.get_rng_state(), state)  # no torch draw consumed
    assert isinstance(method_rng(), MethodRNG) and method_rng() is method_rng()
