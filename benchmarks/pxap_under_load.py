"""PxAP's scorer on a busy machine: groups timed both ways (``pxap.GROUP_MODE``) against
groups always on numba's OpenMP threads (the release before) and against one thread.

Where numba runs on GNU OpenMP, a PxAP scorer with two threads scores each group of maps
on numba's threads; OpenMP's barrier at the end of each group then waits for a thread
that the scheduler keeps off its core when another process is busy there.
``ThreadModeChooser`` times both ways and takes the faster one. This script scores
eval_speed.py's maps in batches of 32 (as a test loop does), the process pinned to two
CPUs, in four conditions: idle or with a busy loop pinned to the second CPU, and batches
back to back or each right after a torch matrix product on two threads (a model's
forward). It prints us per map (mean / highest of ``--reps`` passes over the maps, the
three ways alternating; the mean is what a whole evaluation waits) and the ratios of the
means; every record must equal the one-thread one, else it exits 1.

Usage:
    python benchmarks/pxap_under_load.py [--num-images 96] [--reps 11] [--interval 0.001]
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np
import torch
from eval_speed import _cpu_model, make_samples

import wsol_mm.compat  # noqa: F401  (its shim before timm / torchvision)
from wsol_mm.evaluation.functional import pxap
from wsol_mm.evaluation.scorers import PxAPScorer
from wsol_mm.evaluation.scorers.image_pool import set_eval_threads

BATCH = 32
# the busy process: pinned to one CPU, gone with its parent or after 10 minutes
_BUSY_LOOP = '''import os, time
os.sched_setaffinity(0, {{{cpu}}})
parent, end = os.getppid(), time.monotonic() + 600
while os.getppid() == parent and time.monotonic() < end:
    pass
'''


class _Always:
    """A GROUP_MODE that always picks numba's threads (the release before)."""

    def parallel(self) -> bool:
        return True

    def record(self, *args) -> None:
        pass


def _pass(scorer, samples, way, a, after_torch) -> tuple:
    """Seconds per map of one pass over the maps, and the records."""
    set_eval_threads(1 if way == 'one' else 2)
    records, spent = [], 0.0
    for start in range(0, len(samples), BATCH):
        if after_torch:
            a @ a
        t = time.perf_counter()
        scorer.results.clear()
        scorer.process(None, samples[start:start + BATCH])
        spent += time.perf_counter() - t
        records += [r['hist'] for r in scorer.results]
    return spent / len(samples), records


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--num-images', type=int, default=96)
    parser.add_argument('--reps', type=int, default=11)
    parser.add_argument('--interval', type=float, default=0.001)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        print('needs two CPUs: nothing to measure')
        return 0
    os.sched_setaffinity(0, cpus[:2])  # before numba's threads start: they inherit it
    if pxap.parallel_threads(2) < 2:
        print('needs numba on GNU OpenMP (elsewhere a scorer uses its own pool threads, '
              'which claim groups in turn): nothing to measure')
        return 0
    torch.set_num_threads(2)
    samples = make_samples(args.num_images)
    scorer = PxAPScorer(cam_curve_interval=args.interval)
    a = torch.randn(1024, 1024)
    chooser = pxap.GROUP_MODE  # the timed way, as the scorers use it
    ways = {'one': chooser, 'always': _Always(), 'timed': chooser}
    print(f'CPU: {_cpu_model()}, pinned to CPUs {cpus[:2]}; PxAP at interval {args.interval}, '
          f'{args.num_images} maps in batches of {BATCH}, us per map (mean / highest of '
          f'{args.reps})')
    print(f'{"condition":40s} {"one thread":>14s} {"always numba":>14s} {"timed":>14s} '
          f'{"always/timed":>12s} {"one/timed":>9s}')
    same = True
    for busy in (False, True):
        hog = (subprocess.Popen([sys.executable, '-c', _BUSY_LOOP.format(cpu=cpus[1])])
               if busy else None)
        try:
            time.sleep(0.3)
            for after_torch in (False, True):
                times = {way: [] for way in ways}
                for _ in range(args.reps):
                    for way, mode in ways.items():
                        pxap.GROUP_MODE = mode
                        seconds, records = _pass(scorer, samples, way, a, after_torch)
                        times[way].append(seconds * 1e6)
                        if way == 'one':
                            reference = records
                        same &= all(np.array_equal(x, y) for x, y in zip(records, reference))
                mean = {way: float(np.mean(v)) for way, v in times.items()}
                cells = ' '.join(f'{mean[w]:6.1f} / {max(times[w]):5.1f}' for w in ways)
                name = (('a busy loop on CPU %d, ' % cpus[1]) if busy else 'idle, ') + (
                    'after a torch op' if after_torch else 'back to back')
                print(f'{name:40s} {cells} {mean["always"] / mean["timed"]:11.2f}x '
                      f'{mean["one"] / mean["timed"]:8.2f}x')
        finally:
            pxap.GROUP_MODE = chooser
            if hog is not None:
                hog.kill()
    print('records identical' if same else 'RECORDS DIFFER')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
