"""Random streams derived from a key (seed, epoch, sample index ...), not from history.

A run that is killed and resumed replays exactly the random numbers of an uninterrupted
run only if no random stream depends on how much was drawn before the interruption.
Deriving every stream from a key of integers makes it so, and also makes augmentation
independent of the number of dataloader workers.
"""
import contextlib
import random
from typing import Iterator

import numpy as np
import torch

__all__ = ['derive_seed', 'seed_all', 'seeded_rng']


def derive_seed(*key: int) -> int:
    """A 63-bit seed mixed (by ``numpy.random.SeedSequence``) from non-negative integers.

    Examples:
        >>> derive_seed(0, 1, 5) == derive_seed(0, 1, 5) != derive_seed(0, 2, 5)
        True
    """
    words = np.random.SeedSequence([int(k) & 0xFFFFFFFFFFFFFFFF for k in key])
    return int(words.generate_state(1, np.uint64)[0] >> np.uint64(1))


def seed_all(seed: int, cuda: bool = True) -> None:
    """Seed Python's ``random``, numpy's global RNG and torch's CPU (and CUDA) generators."""
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    if cuda:
        torch.manual_seed(seed)
    else:
        torch.default_generator.manual_seed(seed)


@contextlib.contextmanager
def seeded_rng(*key: int) -> Iterator[None]:
    """Run a block with the CPU random generators seeded from ``key``, then restore them.

    Python's ``random``, numpy's global RNG and torch's CPU generator (what data
    transforms use) are seeded from :func:`derive_seed` ``(*key)``; their previous states are
    restored afterwards, so the caller's streams (e.g. dropout in the main process) do not
    depend on how many samples were processed.
    """
    states = random.getstate(), np.random.get_state(), torch.get_rng_state()
    seed_all(derive_seed(*key), cuda=False)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
