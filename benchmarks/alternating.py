"""Shared pieces of the micro-benchmarks that time two versions of one computation in one
process (``newton_schulz.py``, ``pooled_conv.py``): alternating calls and a table row; and
their common arguments (also ``step_profile.py``'s)."""
import argparse
import time
from typing import Callable, Dict, List

import torch


def micro_parser(doc: str, reps: int) -> argparse.ArgumentParser:
    """A parser with ``--reps`` / ``--batch`` / ``--threads`` (a script adds its own)."""
    parser = argparse.ArgumentParser(description=doc.split('\n\n')[0])
    parser.add_argument('--reps', type=int, default=reps)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=2)
    return parser


def micro_args(doc: str, reps: int) -> argparse.Namespace:
    """``--reps`` / ``--batch`` / ``--threads`` (torch's thread count is set here)."""
    args = micro_parser(doc, reps).parse_args()
    torch.set_num_threads(args.threads)
    return args


def alternate(fns: Dict[str, Callable[[], object]], reps: int) -> Dict[str, List[float]]:
    """Seconds per call of each function, one call of each in turn, ``reps`` rounds, after
    one warm-up call each (the machine's load changes hit every side alike)."""
    for fn in fns.values():
        fn()
    times: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def row(label: str, times: Dict[str, List[float]], old: str, new: str) -> float:
    """Print fastest / median ms of both sides and the ratio; return the fastest saving."""
    fast = {k: min(v) * 1e3 for k, v in times.items()}
    med = {k: sorted(v)[len(v) // 2] * 1e3 for k, v in times.items()}
    print(f'| {label} | {fast[old]:.2f} / {med[old]:.2f} | {fast[new]:.2f} / {med[new]:.2f} '
          f'| {fast[old] / fast[new]:.2f}x / {med[old] / med[new]:.2f}x |')
    return fast[old] - fast[new]
