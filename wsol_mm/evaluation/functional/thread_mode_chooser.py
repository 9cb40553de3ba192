"""Which way PxAP's groups of maps run: on numba's OpenMP threads or on the calling thread."""
from typing import Dict, Optional


class ThreadModeChooser:
    """Picks the faster of two ways to score a group of maps, from their recent timings.

    On an idle machine numba's OpenMP threads score a group about twice as fast as the
    calling thread alone, and right after a torch operation 1.7x faster than a pool
    thread that must first get a core. But when another process keeps one of the cores
    busy, OpenMP's barrier at the end of every group waits for the thread the scheduler
    keeps off its core: on a 2-vCPU Xeon with a busy loop on one vCPU, PxAP's scorer took
    3.7-6.5x the calling thread's time per map (``benchmarks/pxap_under_load.py``). Both
    ways give the same histograms, so the choice can follow the timings alone: the way in
    use keeps a running mean of its seconds per pixel (the first timing of each way is
    dropped: it may load a compiled kernel), the next group takes the faster way, and every
    ``interval`` groups one group tries the other way, whose timing then replaces its stale
    mean, so that a change of load is noticed. A try that confirms the choice doubles the
    interval (up to ``max_interval``: the cost of a slow way stays a small share); a
    switch, after a try or after the way in use slowed down, sets it back to
    ``first_interval``. Timings are per pixel whatever the maps' kind (dtype, interval,
    ignore mask): kinds differ by far less than a busy core costs.

    Args:
        first_interval (int): groups between tries after a switch. Defaults to 16.
        max_interval (int): the longest interval. Defaults to 256.
        weight (float): weight of a new timing in its way's running mean. Defaults to 0.25.

    Examples:
        >>> chooser = ThreadModeChooser()
        >>> for parallel, seconds in ((True, 1.0), (False, 1.0), (True, 1.0), (False, 2.0)):
        ...     chooser.record(parallel, seconds, pixels=1000)
        >>> chooser.parallel()
        True
    """

    def __init__(self, first_interval: int = 16, max_interval: int = 256,
                 weight: float = 0.25) -> None:
        if not 1 <= first_interval <= max_interval:
            raise ValueError(f'need 1 <= first_interval ({first_interval}) <= max_interval '
                             f'({max_interval})')
        if not 0.0 < weight <= 1.0:
            raise ValueError(f'weight must be in (0, 1], got {weight}')
        self.first_interval, self.max_interval, self.weight = first_interval, max_interval, weight
        self.reset()

    def reset(self) -> None:
        """Forget every timing: the next groups measure both ways again."""
        self.rates: Dict[bool, Optional[float]] = {True: None, False: None}
        self.counts = {True: 0, False: 0}
        self.choice = True
        self.interval = self.first_interval
        self.since = 0  # groups since the last exploration

    def parallel(self) -> bool:
        """Whether the next group runs on numba's threads."""
        if self.rates[True] is None or self.rates[False] is None:
            return self.counts[True] <= self.counts[False]  # measure both ways first
        self.since += 1
        if self.since >= self.interval:
            self.since = 0
            return not self.choice
        return self.choice

    def record(self, parallel: bool, seconds: float, pixels: int) -> None:
        """Take the wall time of a group scored one way (``pixels``: its maps' pixels)."""
        self.counts[parallel] += 1
        if self.counts[parallel] == 1 or pixels <= 0:
            return  # a first call may load a compiled kernel
        rate, old = seconds / pixels, self.rates[parallel]
        tried = (old is not None and self.rates[not parallel] is not None
                 and parallel != self.choice)
        # a try replaces its way's stale mean; the way in use is smoothed over its groups
        self.rates[parallel] = rate if old is None or tried else old + self.weight * (rate - old)
        if self.rates[not parallel] is None:
            return
        faster = self.rates[True] <= self.rates[False]
        if faster != self.choice:  # switch, and soon try the way just left
            self.choice, self.interval, self.since = faster, self.first_interval, 0
        elif tried:
            self.interval = min(2 * self.interval, self.max_interval)
