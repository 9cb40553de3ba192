"""The suite's pytest-xdist workers share the CPUs instead of each taking all of them."""
import os

import pytest
import torch
from xdist_threads import worker_threads


@pytest.mark.parametrize('cpus,workers,omp,expected', [
    (2, '2', '', 1),        # CI: 2 workers on 2 cores, one thread each
    (16, '2', '', 8),
    (2, '4', '', 1),        # never 0
    (2, '', '', None),      # no xdist: torch's default
    (2, '1', '', None),
    (2, '2', '2', None),    # the user's OMP_NUM_THREADS wins
])
def test_worker_threads_split_the_cpus(cpus, workers, omp, expected):
    assert worker_threads(cpus, workers, omp) == expected


def test_this_worker_runs_its_share():
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT', '')
    if not workers.isdigit() or int(workers) < 2:
        pytest.skip('runs under pytest-xdist with several workers (tools/run_tests.sh)')
    # pytest_configure exported the share; a user's own setting is kept as given
    assert torch.get_num_threads() == int(os.environ['OMP_NUM_THREADS'])
