"""Speed and exactness of the fast box / mask evaluators against the literal reference.

Generates seeded realistic score maps (low-resolution blobs upsampled bicubically
+ noise, one to three modes) with GT boxes and masks, scores them with the fast
path (``wsol_mm.evaluation.functional``) and with the straightforward
per-threshold OpenCV implementation that follows wsolevaluation literally
(``functional/reference.py``), checks that per-threshold counts agree (exit 1
otherwise) and prints the speed ratio measured in this run.

Usage:
    python benchmarks/eval_speed.py [--num-images 100] [--size 224] [--seed 0]
        [--pixel-noise 0.002]
"""
import argparse
import sys
import time

import cv2
import numpy as np

from wsol_mm.evaluation.functional import (
    HAS_NUMBA,
    best_ious_at_thresholds,
    pixel_histograms,
    reference_best_ious,
    reference_histograms,
    threshold_list,
)


def make_data(num: int, size: int, seed: int, pixel_noise: float = 0.002) -> list:
    """Seeded (map, GT boxes, GT mask) triples."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:14, :14]
    data = []
    for _ in range(num):
        low = 0.3 * rng.random((14, 14))
        boxes, mask = [], np.zeros((size, size), bool)
        for _ in range(int(rng.integers(1, 4))):
            cy, cx = rng.uniform(2, 12, size=2)
            sy, sx = rng.uniform(0.7, 4, size=2)
            low += rng.uniform(0.5, 1) * np.exp(-((yy - cy) / sy) ** 2 - ((xx - cx) / sx) ** 2)
            s = size / 14
            x0, x1 = max(0, int((cx - 1.5 * sx) * s)), min(size - 1, int((cx + 1.5 * sx) * s))
            y0, y1 = max(0, int((cy - 1.5 * sy) * s)), min(size - 1, int((cy + 1.5 * sy) * s))
            boxes.append((x0, y0, x1, y1))
            mask[y0:y1 + 1, x0:x1 + 1] = True
        cam = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
        # CAM noise lives at feature resolution (above); a little pixel noise
        # on top makes level sets jagged and creates small holes
        cam += pixel_noise * rng.random((size, size))
        cam = (cam - cam.min()) / (cam.max() - cam.min())
        data.append((cam, np.array(boxes, np.float64), mask))
    return data


def _timed(fn, items):
    t0, c0 = time.perf_counter(), time.process_time()
    out = [fn(*it) for it in items]
    return out, time.perf_counter() - t0, time.process_time() - c0


def bench_boxes(data, interval: float, multi_contour: bool):
    thrs = threshold_list(interval)
    items = [(cam, boxes) for cam, boxes, _ in data]
    fast, tf, cf = _timed(lambda c, b: best_ious_at_thresholds(c, b, thrs, multi_contour), items)
    ref, tr, cr = _timed(lambda c, b: reference_best_ious(c, b, thrs, multi_contour), items)
    ok = True
    for delta in (30, 50, 70):  # per-threshold correct counts, as BoxEvaluator accumulates
        cf_ = np.sum([f[0] >= delta / 100 for f in fast], 0)
        cr_ = np.sum([r[0] >= delta / 100 for r in ref], 0)
        ok &= bool(np.array_equal(cf_, cr_))
    ok &= all(np.array_equal(f[0], r[0]) for f, r in zip(fast, ref))
    return ok, tf, tr, cf, cr


def bench_pxap(data, interval: float):
    thrs = threshold_list(interval)
    items = [(cam, mask) for cam, _, mask in data]
    fast, tf, cf = _timed(lambda c, m: pixel_histograms(c, m, None, thrs), items)
    ref, tr, cr = _timed(lambda c, m: reference_histograms(c, m, np.zeros_like(m), thrs), items)
    ok = all(np.array_equal(f[0], r[0]) and np.array_equal(f[1], r[1])
             for f, r in zip(fast, ref))
    return ok, tf, tr, cf, cr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--pixel-noise', type=float, default=0.002,
                        help='uniform noise added after upsampling (0.02: stress case)')
    args = parser.parse_args()
    data = make_data(args.num_images, args.size, args.seed, args.pixel_noise)
    best_ious_at_thresholds(data[0][0], data[0][1], [0.5], True)  # JIT warm-up (not timed)
    print(f'{args.num_images} maps of {args.size}x{args.size}, pixel noise {args.pixel_noise}, '
          f'numba={HAS_NUMBA}; '
          'ms per image (wall), ratio = reference / fast (wall; CPU-time ratio in brackets)')
    print(f"{'metric':<8}{'interval':>9}{'fast ms':>10}{'ref ms':>10}{'ratio':>9}{'cpu':>9}"
          f"{'counts':>9}")
    all_ok = True
    n = len(data)
    for interval in (0.01, 0.001):
        for name, run in (('v1', lambda: bench_boxes(data, interval, False)),
                          ('V2', lambda: bench_boxes(data, interval, True)),
                          ('PxAP', lambda: bench_pxap(data, interval))):
            ok, tf, tr, cf, cr = run()
            all_ok &= ok
            print(f'{name:<8}{interval:>9}{1e3 * tf / n:>10.2f}{1e3 * tr / n:>10.2f}'
                  f'{tr / tf:>8.1f}x[{cr / max(cf, 1e-9):>6.1f}x]{"match" if ok else "DIFFER":>8}')
    print('all per-threshold counts match' if all_ok else 'MISMATCH between fast and reference')
    return 0 if all_ok else 1


if __name__ == '__main__':
    sys.exit(main())
