"""The scorers' threads: units claimed in turn (PxAP: a group of maps per kernel call)
against the release before (one strided chunk per thread, one kernel call per map).

This release's ``BaseScorer.process`` hands a batch to ``map_chunks``: the calling thread
and the pool's workers claim units of consecutive samples until none is left, a
scorer's ``chunk_size`` at a time; PxAP's is a group of ``pxap.GROUP`` maps that its kernel
scores in one call, so the thread releases and takes back the GIL once per group (where
numba runs on GNU OpenMP, PxAP instead scores each group's maps on numba's threads from
the calling thread: ``pxap.parallel_threads``). The release before split the batch into
one strided chunk per thread and called ``record`` on each sample (PxAP: one
``pixel_histograms`` call per map, a record of two rows); it is written out below.

Both sides score eval_speed.py's maps, alternating in one process, on the scorers' default
thread count and on one thread; the script prints us per map (fastest / median of
``--reps``) and the ratio, and exits 1 unless every record is identical.

Usage:
    python benchmarks/scorer_threads.py [--num-images 100] [--reps 40]
"""
import argparse
import sys
import time
from concurrent.futures import wait

import numpy as np
from eval_speed import _cpu_model, make_samples

from wsol_mm.evaluation.functional import HAS_NUMBA, pixel_histograms
from wsol_mm.evaluation.scorers import MaxBoxAccScorer, MaxBoxAccV2Scorer, PxAPScorer
from wsol_mm.evaluation.scorers.image_pool import _pool, eval_threads, set_eval_threads
from wsol_mm.evaluation.scorers.sample_fields import get_field


def strided_map(fn, items: list) -> list:
    """The release before's ``map_images``: one strided chunk per thread, the caller's
    first."""
    threads = min(eval_threads(), len(items))
    if threads <= 1:
        return [fn(x) for x in items]
    futures = [_pool(eval_threads() - 1).submit(lambda c: [fn(x) for x in c], items[i::threads])
               for i in range(1, threads)]
    try:
        first = [fn(x) for x in items[0::threads]]
    finally:
        wait(futures)
    out = [None] * len(items)
    out[0::threads] = first
    for i, future in enumerate(futures, 1):
        out[i::threads] = future.result()
    return out


def pxap_record(scorer: PxAPScorer, sample: dict) -> dict:
    """The release before's PxAP record: one kernel call per map (its two rows stacked,
    as this release's record holds them)."""
    name = type(scorer).__name__
    hist = pixel_histograms(get_field(sample, 'pred_cam', name),
                            get_field(sample, 'gt_mask', name),
                            get_field(sample, 'ignore_mask', name, required=False),
                            scorer.thresholds, scorer._bins, stacked=True, compact=True)
    return dict(hist=hist)


def processed(scorer, samples: list) -> list:
    scorer.results.clear()
    scorer.process(None, samples)
    return list(scorer.results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--reps', type=int, default=40)
    args = parser.parse_args()
    if not HAS_NUMBA:
        print('numba is missing: the scorers run numpy, nothing to compare')
        return 1
    samples = make_samples(args.num_images, seed=0)
    default = eval_threads()
    print(f'CPU: {_cpu_model()}; {args.num_images} maps 224x224; us per map, fastest / median '
          f'of {args.reps}, alternating')
    print('| scorer | interval | threads | release before | this release | ratio |')
    print('| --- | --- | --- | --- | --- | --- |')
    same = True
    jobs = [('PxAP', PxAPScorer, 0.01), ('PxAP', PxAPScorer, 0.001),
            ('v1', MaxBoxAccScorer, 0.01), ('V2', MaxBoxAccV2Scorer, 0.01)]
    for name, cls, interval in jobs:
        scorer = cls(cam_curve_interval=interval)
        old = (lambda s, sc=scorer: pxap_record(sc, s)) if cls is PxAPScorer else scorer.record
        sides = dict(before=lambda old=old: strided_map(old, samples),
                     now=lambda sc=scorer: processed(sc, samples))
        for count in sorted({default, 1}, reverse=True):
            set_eval_threads(count)
            outs = {side: fn() for side, fn in sides.items()}  # warm-up, and the check
            same &= all(a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
                        for a, b in zip(outs['before'], outs['now']))
            times = {side: [] for side in sides}
            for _ in range(args.reps):
                for side, fn in sides.items():
                    start = time.perf_counter()
                    fn()
                    times[side].append((time.perf_counter() - start) / len(samples) * 1e6)
            fast = {k: min(v) for k, v in times.items()}
            med = {k: float(np.median(v)) for k, v in times.items()}
            print(f'| {name} | {interval} | {count} | {fast["before"]:.1f} / '
                  f'{med["before"]:.1f} | {fast["now"]:.1f} / {med["now"]:.1f} | '
                  f'{fast["before"] / fast["now"]:.2f}x / {med["before"] / med["now"]:.2f}x |')
        set_eval_threads(None)
    print('every record identical' if same else 'RECORDS DIFFER')
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
