"""The one random source of the wsolevaluation methods' draws (HaS, CutMix, ADL)."""
from typing import Optional, Tuple, Union

import numpy as np
import torch

__all__ = ['MethodRNG', 'method_rng']


class MethodRNG:
    """Seeded generator behind every random draw of HaS, CutMix and ADL.

    The released code drew from three global generators (Python's ``random`` for the
    HaS mask, numpy's for CutMix's lambda and box, torch's for its permutation and
    ADL's decision). Here all of them come from one ``numpy.random.Generator`` (PCG64)
    that is seeded from a key of non-negative integers through numpy's ``SeedSequence``,
    so a stream depends only on its key, never on how much was drawn before:

    * ``MethodSeedHook`` seeds the shared instance (:func:`method_rng`) before every
      training iteration from ``(run seed, iteration, stream, rank)``; a resumed run
      therefore replays the draws of an uninterrupted one, whatever the dataloader did;
    * without the hook the shared instance seeds itself once, on its first draw, from
      ``torch.initial_seed()`` (mmengine's ``randomness.seed``), consuming no torch draw;
    * a test seeds it (``method_rng().seed(0)``), builds its own ``MethodRNG(0)``, or
      sets a component's ``rng`` to an object with the same four methods returning fixed
      draws.

    Args:
        *key (int): optional seed key; unseeded until the first draw otherwise.

    Examples:
        >>> a, b = MethodRNG(0, 5), MethodRNG(0, 5)
        >>> a.random() == b.random() and a.integers(10) == b.integers(10)
        True
    """

    def __init__(self, *key: int) -> None:
        self._generator: Optional[np.random.Generator] = None
        if key:
            self.seed(*key)

    def seed(self, *key: int) -> None:
        """Restart the stream from ``key`` (non-negative integers)."""
        if not key or any(int(k) != k or k < 0 for k in key):
            raise ValueError(f'MethodRNG.seed needs non-negative integers, got {key}')
        self._generator = np.random.default_rng([int(k) for k in key])

    @property
    def generator(self) -> np.random.Generator:
        """The numpy generator (seeded from ``torch.initial_seed()`` if never seeded)."""
        if self._generator is None:
            self.seed(torch.initial_seed())
        return self._generator

    def random(self, size: Union[None, int, Tuple[int, ...]] = None
               ) -> Union[float, np.ndarray]:
        """Uniform draws in [0, 1): a float, or a float64 array of ``size`` (C order)."""
        out = self.generator.random(size)
        return float(out) if size is None else out

    def beta(self, a: float, b: float) -> float:
        """One Beta(a, b) draw."""
        return float(self.generator.beta(a, b))

    def integers(self, high: int) -> int:
        """One integer uniform in ``[0, high)``."""
        return int(self.generator.integers(high))

    def permutation(self, n: int) -> torch.Tensor:
        """A random permutation of ``range(n)`` as an int64 tensor (CPU)."""
        return torch.from_numpy(self.generator.permutation(n).astype(np.int64))


_SHARED = MethodRNG()


def method_rng() -> MethodRNG:
    """The shared instance every component draws from unless its ``rng`` is set."""
    return _SHARED
