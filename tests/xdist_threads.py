"""The torch threads of one pytest-xdist worker (a module of its own: several `conftest`
modules exist, and a test cannot import from the root one by name)."""
from typing import Optional


def worker_threads(cpus: int, workers: str, omp: str) -> Optional[int]:
    """torch threads of one pytest-xdist worker: its share of the CPUs (None: leave them).

    ``OMP_NUM_THREADS`` set by the user wins. Otherwise each of ``workers`` processes
    takes ``cpus // workers`` (at least 1): with torch's default (every CPU in every
    worker) OpenMP's threads outnumber the cores and spin against each other, and the
    model tests ran 1.75x slower on 2 AMD Zen 3 cores with 2 workers.
    """
    count = int(workers) if workers.isdigit() else 1
    if omp.strip() or count <= 1:
        return None  # the user's setting, or torch's default in a single process
    return max(1, cpus // count)
