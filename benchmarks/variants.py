"""Timed training-step variants and their round-robin timing, in one process or one process
per variant (``benchmarks/train_step.py``, ``linear_layers.py``, ``cpu_malloc.py``).

Why a process per variant: glibc's ``malloc`` keeps its state per process (its heap, the
mmap threshold it raises by itself, what it trims). Steps of several models in one process
hand each other's freed blocks around, so a step there allocates, faults and zeroes memory
that it would not in a training run, which holds one model: on the Zen 4 guest the crop
consistency ResNet50 step faulted 420,000 pages per step next to its plain and contiguous
steps and 520,000 next to their bfloat16 twins too (overhead 2.08 and 2.27). Each
``VariantProcess`` builds its variant in a spawned process of its own; the parent still
times all of them round-robin (one step of each in turn, only one running at a time), so
load changes hit every variant alike, and each process reports its own page faults, its
peak resident memory (``VmHWM``: the peak of a run of that one variant) and its size
once the variant is built, before its first step (``VmRSS``): the peak less that size is
what the steps themselves added, apart from what the process imported and built.
"""
import multiprocessing as mp
import os.path as osp
import resource
import sys
import time
import traceback
from collections import Counter
from typing import Callable, List, Optional, Tuple

import torch
from host_syncs import host_sync_sites  # benchmarks/ (the script's folder is on sys.path)
from memory import saved_bytes


class Variant:
    """One timed training step (a closure) and what is known about it."""

    def __init__(self, name: str, step: Callable[[], Optional[dict]]) -> None:
        self.name, self.step = name, step
        self.times: List[float] = []
        self.faults: List[int] = []  # minor page faults of each timed step (CPU memory)
        self.saved_bytes = 0
        self.peak_cuda = None  # peak allocated bytes of one step (GPU runs)
        self.peak_rss = None  # peak resident bytes of the variant's own process
        self.built_rss = None  # its resident bytes once built, before the first step
        self.step_peak = None  # peak_rss - built_rss (largest over its processes)
        self.host_syncs = None  # synchronising CUDA calls in one step (GPU runs)
        self.sync_sites: Counter = Counter()  # 'file:line' of each of those calls
        self.notes = ''

    def prepare(self, warmup: int, device: str) -> None:
        """Warm up, record the saved bytes and, on a GPU, one step's peak memory and syncs."""
        for _ in range(warmup):
            self.step()
        self.saved_bytes = saved_bytes(self.step)
        if device.startswith('cuda'):
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            self.step()
            torch.cuda.synchronize()
            self.peak_cuda = torch.cuda.max_memory_allocated()
            self.sync_sites = host_sync_sites(self.step)
            self.host_syncs = sum(self.sync_sites.values())
            torch.cuda.synchronize()

    def timed(self, device: str, seed: Optional[int] = None) -> Tuple[float, int]:
        """Time one step (and count its minor page faults); recorded and returned. With
        ``seed``, torch's random generators are seeded with it first (untimed)."""
        if seed is not None:
            torch.manual_seed(seed)
        sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
        sync()
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        start = time.perf_counter()
        self.step()
        sync()
        self.times.append(time.perf_counter() - start)
        self.faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults)
        return self.times[-1], self.faults[-1]

    def close(self) -> None:
        """Nothing to release in this process."""


#: Peaks of the live tensors (``released_step.py --live-peaks``, ``global_mean_pool.py``): a
#: process started with ``MALLOC_MMAP_THRESHOLD_`` at this many bytes maps every larger
#: allocation on its own and unmaps it when freed, so its peak has no heap history in it
LIVE_PEAKS_THRESHOLD = 128 * 1024

_INFO = ('saved_bytes', 'peak_cuda', 'host_syncs', 'sync_sites', 'notes', 'built_rss')

#: How ``VariantProcess`` starts its processes (``--start-method`` of the scripts):
#: ``'spawn'``, each a new interpreter that imports everything itself, as a training run
#: does (the measured runs); ``'forkserver'``, each forked from one server process that
#: imported the script's modules once, seconds less per process (the tests' runs). A forked
#: child counts only the server's library pages it touches, so its peaks read lower, and
#: its first writes to the server's pages fault (docs/speed.md).
START_METHODS = ('spawn', 'forkserver')
_START = ['spawn']
_PRELOAD = ('wsol_mm.datasets.registration', 'wsol_mm.engine', 'wsol_mm.evaluation.metrics',
            'wsol_mm.models', 'wsol_mm.structures', 'wsol_mm.visualization')


def set_start_method(method: str) -> None:
    """Start the variants' processes with ``method`` (one of :data:`START_METHODS`)."""
    if method not in START_METHODS:
        raise ValueError(f'start method {method!r}: use one of {START_METHODS}')
    if method == 'forkserver':
        # the server imports the script by its module name ('__main__' in the list is lost
        # on the way to the server in Python 3.11) and what ``register_all_modules`` imports
        script = osp.splitext(osp.basename(getattr(sys.modules['__main__'], '__file__', '')))[0]
        mp.get_context('forkserver').set_forkserver_preload(
            [m for m in (script, ) if m] + list(_PRELOAD))
    _START[0] = method


def add_start_method_argument(parser) -> None:
    """``--start-method`` (:func:`set_start_method`) on a benchmark script's parser."""
    parser.add_argument('--start-method', choices=START_METHODS, default='spawn',
                        help='how each variant process starts: spawn (imports everything '
                        'itself, as a training run) or forkserver (forked from one process '
                        'that imported them: faster starts; see benchmarks/variants.py)')


def add_draws_argument(parser) -> None:
    """``--independent-draws`` of the step benchmarks (see :func:`run_family`)."""
    parser.add_argument('--independent-draws', action='store_true',
                        help='each variant steps with its own random stream (stochastic-'
                        'depth draws); default: the same seed for the same step index')


def round_seed(args, round_index: int) -> Optional[int]:
    """The first timed step's seed of a round (rounds get different draws), None with
    ``--independent-draws``."""
    return None if args.independent_draws else round_index * args.steps


def draws_note(args) -> str:
    """How the timed steps draw their random numbers, for the header line."""
    return ('independent draws' if args.independent_draws
            else 'equal draws per step index')


def _status_bytes(key: str) -> Optional[int]:
    """A size field of ``/proc/self/status`` (Linux) in bytes, or None where unknown."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(key + ':'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def resident_bytes() -> Optional[int]:
    """This process's resident memory now (Linux ``VmRSS``), or None where unknown."""
    return _status_bytes('VmRSS')


def peak_resident_bytes() -> int:
    """This process's peak resident memory: Linux's ``VmHWM``, the peak of this program's
    own address space. Not ``ru_maxrss`` where ``VmHWM`` exists: a process started by fork
    and exec (a spawned variant, a subprocess) keeps there the resident size of the parent
    it was forked from (a parent that had built models for the equal-losses check put a
    floor of 1.3 GB under every child's reading)."""
    hwm = _status_bytes('VmHWM')
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _serve(conn, build: Callable[[dict], Variant], spec: dict, threads: int, warmup: int,
           device: str) -> None:
    """A variant's process: build and prepare it, then time one step per ``'step'``."""
    try:
        torch.set_num_threads(threads)
        variant = build(spec)
        variant.built_rss = resident_bytes()
        variant.prepare(warmup, device)
        conn.send(('ok', {k: getattr(variant, k) for k in _INFO}))
        request = conn.recv()
        while request[0] == 'step':
            conn.send(('ok', variant.timed(device, request[1])))
            request = conn.recv()
        conn.send(('ok', peak_resident_bytes()))
    except Exception:  # noqa: BLE001  (reported by the parent with the variant's name)
        conn.send(('error', traceback.format_exc()))


class VariantProcess(Variant):
    """A variant built and stepped in a process of its own (see the module doc and
    :func:`set_start_method`).

    Args:
        build: module-level function ``spec -> Variant`` (run in the child).
        spec: picklable description of the variant; ``spec['name']`` names it.
        threads: torch threads of the child.
    """

    def __init__(self, build: Callable[[dict], Variant], spec: dict, threads: int) -> None:
        super().__init__(spec['name'], self._not_here)
        self.build, self.spec, self.threads = build, spec, threads
        self.conn, self.proc, self.failed = None, None, False

    def _not_here(self) -> None:
        raise RuntimeError(f'{self.name}: its step runs in its own process')

    def _reply(self):
        try:
            status, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(f'{self.name}: its process died (exit code '
                               f'{self.proc.exitcode}; out of memory?)') from None
        if status == 'error':  # the process has stopped
            self.failed = True
            raise RuntimeError(f'{self.name} failed in its process:\n{value}')
        return value

    def prepare(self, warmup: int, device: str) -> None:
        """Start a process (a fresh one each round) and wait until it has built, warmed
        up and measured; its timed steps add to those of the earlier rounds."""
        ctx = mp.get_context(_START[0])  # no fork of a process with threads / CUDA
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.build, self.spec,
                                                     self.threads, warmup, device),
                                daemon=True)
        self.proc.start()
        child.close()
        for key, value in self._reply().items():
            setattr(self, key, value)

    def timed(self, device: str, seed: Optional[int] = None) -> Tuple[float, int]:
        self.conn.send(('step', seed))
        seconds, faults = self._reply()
        self.times.append(seconds)
        self.faults.append(faults)
        return seconds, faults

    def close(self) -> None:
        """Stop the process; keep its peak resident memory."""
        if self.proc is None:
            return
        if not self.failed and self.proc.is_alive():
            self.conn.send(('stop', None))
            peak = self._reply()
            self.peak_rss = max(peak, self.peak_rss or 0)  # over its rounds
            if self.built_rss is not None:
                self.step_peak = max(peak - self.built_rss, self.step_peak or 0)
        self.proc.join()
        self.proc = None


def run_family(variants: List[Variant], warmup: int, steps: int, device: str,
               seed: Optional[int] = None) -> None:
    """Prepare every variant (one after the other, so warm-up peaks never add up), time all
    of them round-robin, then stop their processes.

    With ``seed``, the ``i``-th timed step of every variant starts from
    ``torch.manual_seed(seed + i)``: the same stochastic-depth draws in each step of the
    same index (common random numbers). wsol_mm's DeiT blocks skip the dropped samples'
    branches on a CPU, so a step's work depends on its draws (DeiT-S, batch 8: 9.3 of 176
    sample-branches dropped on average, standard deviation 2.9); with equal draws that
    share of the step time cancels in the ratios between variants. The draws match when
    the variants consume the generator alike before and between the blocks, as wsol_mm's
    plain DeiT-S, TS-CAM, SCM and LCA-MD steps do. None: each process's own random stream.
    """
    try:
        for variant in variants:
            variant.prepare(warmup, device)
        for i in range(steps):
            for variant in variants:
                variant.timed(device, None if seed is None else seed + i)
    finally:
        for variant in variants:
            variant.close()


def print_steps(variants: List[Variant]) -> None:
    """Every timed step of each variant and its page faults, on stderr (for a closer look)."""
    for v in variants:
        print(f'# steps {v.name}: {" ".join(f"{t:.2f}" for t in v.times)} s, page faults '
              f'{" ".join(str(f // 1000) for f in v.faults)} thousand',
              file=sys.stderr, flush=True)
