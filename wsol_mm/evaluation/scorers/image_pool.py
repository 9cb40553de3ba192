"""Per-image scoring on a few threads: the compiled kernels release the GIL.

Each image's record depends on that image alone, so the scorers hand a batch of
samples to :func:`map_chunks`: the calling thread and the pool's workers claim units
of consecutive samples in turn (one, or a scorer's group) until none is left, and the
records come back in input order, the same for any number of threads. The Python
around each kernel call (field checks, a few numpy operations) still holds the GIL, so
the gain is a little under the thread count; PxAP, whose kernel is short, claims groups
of maps that its kernel scores in one call (the GIL handed over once per group), or, where
numba runs on GNU OpenMP, scores each group on numba's threads instead
(``pxap.parallel_threads``; on the calling thread alone when that was timed faster, as
when another process keeps a core busy: ``pxap.GROUP_MODE``).

The number of threads: ``set_eval_threads(n)`` (``eval_cams.py --threads``), else the
``WSOL_MM_EVAL_THREADS`` environment variable, else ``min(4, usable CPUs / ranks on this
machine)`` (``LOCAL_WORLD_SIZE``, set by torchrun); 1 runs everything in the calling thread.
"""
import itertools
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, TypeVar

__all__ = ['eval_threads', 'set_eval_threads', 'map_images', 'map_chunks', 'prefetched_chunks']

ENV_VAR = 'WSOL_MM_EVAL_THREADS'
_T = TypeVar('_T')
_R = TypeVar('_R')
_STATE = dict(threads=None, pool=None, size=0, pid=0)
_LOCK = threading.Lock()
_SCORING = threading.local()  # active while a thread scores a chunk


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def eval_threads() -> int:
    """The number of threads the scorers use (see the module docstring)."""
    if _STATE['threads'] is not None:
        return _STATE['threads']
    value = os.environ.get(ENV_VAR, '').strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f'{ENV_VAR}={value!r}: expected a positive integer (1 = no '
                             'extra threads)')
        return int(value)
    ranks = os.environ.get('LOCAL_WORLD_SIZE', '')  # set by torchrun: ranks share the CPUs
    ranks = max(1, int(ranks)) if ranks.isdigit() else 1
    return max(1, min(4, _usable_cpus() // ranks))


def set_eval_threads(threads: Optional[int]) -> None:
    """Use ``threads`` threads from now on (None: back to the environment / default)."""
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f'evaluation threads must be a positive integer, got {threads!r}')
    _STATE['threads'] = threads


def _pool(size: int) -> ThreadPoolExecutor:
    with _LOCK:
        # a forked child inherits the pool object but not its threads: make its own
        if _STATE['pool'] is None or _STATE['size'] != size or _STATE['pid'] != os.getpid():
            if _STATE['pool'] is not None and _STATE['pid'] == os.getpid():
                _STATE['pool'].shutdown(wait=True)
            _STATE.update(pool=ThreadPoolExecutor(size, thread_name_prefix='wsol_mm_eval'),
                          size=size, pid=os.getpid())
        return _STATE['pool']


def map_images(fn: Callable[[_T], _R], items: Sequence[_T]) -> List[_R]:
    """``[fn(x) for x in items]``, on :func:`eval_threads` threads, in input order.

    An exception raised for an item is raised here (the first in input order), once
    every thread is done.
    """
    return map_chunks(lambda chunk: [fn(x) for x in chunk], items)


def map_chunks(fn: Callable[[List[_T]], List[_R]], items: Sequence[_T],
               unit: int = 1) -> List[_R]:
    """``fn(items)``, computed as ``fn`` of units of ``unit`` consecutive items on
    :func:`eval_threads` threads, in input order.

    ``fn`` maps a list of items to their results, each result depending on its item
    alone (so the split does not change them); on one thread it gets all the items at
    once. The calling thread and the pool's workers claim the next unit in turn until
    none is left: a thread that starts late (a worker wakes up some 0.1 ms after the
    call on a VM) or meets costly images (many contours) claims fewer, and the calling
    thread stays busy (were it to sleep until the workers finish, Linux would wake them
    on its own CPU, where they took turns for the few ms of a batch: PxAP at interval
    0.01 ran on one core). After an exception no unit is claimed; the first in input
    order is raised once every thread is done (the units before it all ran).
    """
    items = list(items)
    if unit < 1:
        raise ValueError(f'map_chunks: unit must be a positive integer, got {unit!r}')
    size = eval_threads()
    units = -(-len(items) // unit)
    threads = min(size, units)
    if threads <= 1 or getattr(_SCORING, 'active', False):
        return _checked(fn, items)
    out: List[_R] = [None] * len(items)
    claims = itertools.count()  # its next() is atomic under the GIL
    errors = {}  # unit index -> its exception

    def claim_units(index: Optional[int] = None) -> None:
        _SCORING.active = True  # a batch that fn scores meanwhile runs inline
        try:
            while not errors:
                index = next(claims) if index is None else index
                if index >= units:
                    return
                start = index * unit
                try:
                    out[start:start + unit] = _checked(fn, items[start:start + unit])
                except Exception as err:  # raised by map_chunks' caller, in input order
                    errors[index] = err
                index = None
        finally:
            _SCORING.active = False

    first = next(claims)  # the caller's: starting a pool thread may let it claim first
    futures = [_pool(size - 1).submit(claim_units) for _ in range(threads - 1)]
    try:
        claim_units(first)
    except BaseException:  # e.g. KeyboardInterrupt: the workers stop claiming too
        errors.setdefault(units, None)
        raise
    finally:
        wait(futures)  # no worker outlives the call
    for future in futures:
        future.result()  # an error outside fn (none expected)
    if errors:
        raise errors[min(errors)]
    return out


def _checked(fn: Callable[[List[_T]], List[_R]], chunk: List[_T]) -> List[_R]:
    """``fn(chunk)``, which must give one result per item."""
    out = fn(chunk)
    if len(out) != len(chunk):
        raise RuntimeError(f'{fn!r} returned {len(out)} results for {len(chunk)} items')
    return out


def prefetched_chunks(items: Iterable[_T], size: int, depth: int = 2) -> Iterator[List[_T]]:
    """Lists of ``size`` consecutive items, produced by a background thread.

    Offline evaluation reads the next maps from disk while the current batch is
    scored. An exception of the producer (a bad file) is raised here, in order; if
    the consumer stops early, the producer stops at its next item.
    """
    done, box = object(), queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        chunk: List[_T] = []
        try:
            for item in items:
                chunk.append(item)
                if len(chunk) == size:
                    if not put(chunk):
                        return
                    chunk = []
            if chunk and not put(chunk):
                return
            put(done)
        except BaseException as err:  # handed to the consumer, which raises it
            put(err)

    thread = threading.Thread(target=produce, name='wsol_mm_eval_reader', daemon=True)
    thread.start()
    try:
        while True:
            got = box.get()
            if got is done:
                return
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        thread.join()
