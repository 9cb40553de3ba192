"""Torch's thread count in a pytest-xdist worker: the worker's share of the cores.

Two workers on two cores with torch's default (every core) run four OpenMP threads on two
cores; a parallel op then waits at its barrier for a thread the kernel has descheduled (one
test that takes 1 s alone took 26 s in the suite) and the suite took 804 s against 699 s
with one thread per worker on the 2-core development machine (docs/speed.md).
"""
from typing import Mapping, Optional


def worker_threads(env: Mapping[str, str], cpus: int) -> Optional[int]:
    """Threads for a test process with environment ``env`` on ``cpus`` usable cores.

    Returns:
        ``cpus // workers`` (at least 1) in an xdist worker, None (torch's default) outside
        one or when the caller chose ``OMP_NUM_THREADS`` itself.
    """
    if 'OMP_NUM_THREADS' in env:
        return None
    workers = env.get('PYTEST_XDIST_WORKER_COUNT', '')
    if not workers.isdigit() or int(workers) == 0:
        return None
    return max(1, cpus // int(workers))
