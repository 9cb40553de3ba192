"""tests/worker_threads.py: an xdist worker runs torch on its share of the cores."""
import os

import pytest
import torch
from worker_threads import worker_threads


@pytest.mark.parametrize('workers, cpus, threads', [('2', 2, 1), ('2', 8, 4), ('3', 8, 2),
                                                    ('4', 2, 1), ('1', 2, 2)])
def test_a_worker_gets_its_share_of_the_cores(workers, cpus, threads):
    assert worker_threads({'PYTEST_XDIST_WORKER_COUNT': workers}, cpus) == threads


@pytest.mark.parametrize('env', [{}, {'PYTEST_XDIST_WORKER_COUNT': '0'},
                                 {'PYTEST_XDIST_WORKER_COUNT': 'auto'},
                                 {'PYTEST_XDIST_WORKER_COUNT': '2', 'OMP_NUM_THREADS': '2'}])
def test_outside_a_worker_or_with_the_callers_count_torch_keeps_its_own(env):
    assert worker_threads(env, 2) is None


@pytest.mark.skipif('PYTEST_XDIST_WORKER_COUNT' not in os.environ, reason='not an xdist worker')
def test_this_worker_runs_the_count_it_passes_on():
    # conftest's pytest_configure set both (or the caller set OMP_NUM_THREADS before torch
    # loaded, which torch then read)
    assert torch.get_num_threads() == int(os.environ['OMP_NUM_THREADS'])
