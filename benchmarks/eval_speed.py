"""Speed of wsol_mm's evaluators against the released per-threshold loops, counts checked.

Part 1, per metric (start-up excluded: both sides warmed up, then timed on the
same in-memory maps, in ``--repeat`` rounds over all metrics): the scorer that
online metrics and eval_cams.py run (``wsol_mm.evaluation.scorers``) against the
literal released loop
(``functional/literal_protocols.py``: one ``cv2.findContours`` per threshold, and the
rest of the released per-threshold work; ``benchmarks/released_evaluator.py`` times it
against wsolevaluation's own evaluator). Every per-threshold count must be identical, else
the script exits 1.

Part 2, whole processes on maps stored in wsolevaluation's layout: ``python
tools/analysis_tools/eval_cams.py`` against ``benchmarks/eval_reference_process.py``
(a literal ``evaluate_wsol`` that imports only numpy and OpenCV), same metric
values required; and each tool's start-up (the same command on a one-image split).

wsol_mm scores the maps of a batch on ``--threads`` threads (default: what the scorers
use, ``min(4, CPUs per local rank)``; the reference is one thread by design); ``[cpu]`` is the ratio
of CPU times, i.e. per core.

Maps: seeded 224 x 224 float32, low-resolution blobs (one to three modes) upsampled
bicubically plus pixel noise, with one to three GT boxes and their masks.

Usage:
    python benchmarks/eval_speed.py [--num-images 100] [--process-images 500] [--seed 0]
        [--threads N]                # --process-images 0: Part 1 only
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

from wsol_mm.evaluation.functional import (
    HAS_NUMBA,
    box_correct_counts,
    save_scoremap,
    threshold_list,
)
from wsol_mm.evaluation.functional.literal_protocols import (
    literal_box_counts,
    literal_fixed_counts,
    literal_mask_histograms,
    literal_sweep_counts,
)
from wsol_mm.evaluation.scorers import (
    FixedThresholdLocScorer,
    MaxBoxAccScorer,
    MaxBoxAccV2Scorer,
    PxAPScorer,
    ThresholdSweepLocScorer,
)
from wsol_mm.evaluation.scorers.image_pool import eval_threads, set_eval_threads

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# issue 14's targets (reference / wsol_mm, start-up excluded); fixed and sweep have none
TARGETS = {('v1', 0.01): 20, ('V2', 0.01): 20, ('v1', 0.001): 100, ('V2', 0.001): 100,
           ('PxAP', 0.01): 20, ('PxAP', 0.001): 20}
PROCESS_TARGET, STARTUP_TARGET_S = 20, 2.0


def _blob_map(rng, size: int, pixel_noise: float):
    yy, xx = np.mgrid[:14, :14]
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
    # CAM structure lives at feature resolution; pixel noise makes level sets jagged
    cam += pixel_noise * rng.random((size, size))
    cam = (cam - cam.min()) / (cam.max() - cam.min())
    return cam.astype(np.float32), np.array(boxes, np.float64), mask


def make_samples(num: int, size: int = 224, seed: int = 0, pixel_noise: float = 0.002) -> list:
    """Seeded samples (dicts as the metrics receive them) with top-5 maps and scores."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(num):
        cam, boxes, mask = _blob_map(rng, size, pixel_noise)
        others = [_blob_map(rng, size, pixel_noise)[0] for _ in range(4)]
        label = int(rng.integers(0, 10))
        score = rng.random(10).astype(np.float32)
        order = np.argsort(-score.astype(np.float64), kind='stable')
        top = order[:5]
        cams = np.stack([cam if c == label else others.pop() if others else cam for c in top])
        samples.append(dict(pred_cam=cam, gt_bboxes=boxes, gt_mask=mask, gt_label=label,
                            pred_score=score, pred_cams=cams, pred_cam_labels=top))
    return samples


REPEAT = [3]  # runs per measurement (--repeat); the fastest counts, on both sides


def _clock(fn):
    """Result, wall and CPU seconds of ``fn``: the fastest of REPEAT runs (load spikes on a
    shared machine only ever slow a run down)."""
    walls, cpus = [], []
    for _ in range(REPEAT[0]):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, min(walls), min(cpus)


def _scored(scorer, samples):
    scorer.results.clear()
    scorer.process(None, samples)
    return scorer


def metric_jobs(samples: list) -> list:
    """(name, interval, wsol_mm side, reference side, equality check) per metric; each side
    a function of a list of samples returning the counts, wsol_mm's scorers warmed up."""
    jobs = []
    for interval in (0.01, 0.001):
        thrs = threshold_list(interval)
        for name, cls, multi, ious in (('v1', MaxBoxAccScorer, False, (50, )),
                                       ('V2', MaxBoxAccV2Scorer, True, (30, 50, 70))):
            scorer = cls(cam_curve_interval=interval)
            _scored(scorer, samples[:2])  # warm-up: JIT / cache load not timed
            jobs.append((name, interval, lambda ss, scorer=scorer, thrs=thrs, k=len(ious):
                         box_correct_counts(_scored(scorer, ss).results, thrs, k),
                         lambda ss, thrs=thrs, ious=ious, multi=multi: literal_box_counts(
                             [(s['pred_cam'], s['gt_bboxes']) for s in ss], thrs, ious,
                             multi), np.array_equal))
        scorer = PxAPScorer(cam_curve_interval=interval)
        _scored(scorer, samples[:2])

        def pooled(ss, scorer=scorer):
            pooled = np.sum([r['hist'] for r in _scored(scorer, ss).results], 0)
            return pooled[0], pooled[1]

        jobs.append(('PxAP', interval, pooled, lambda ss, thrs=thrs: literal_mask_histograms(
            [(s['pred_cam'], s['gt_mask'], np.zeros_like(s['gt_mask'])) for s in ss],
            thrs), lambda a, b: all(np.array_equal(x, y) for x, y in zip(a, b))))
    sweep = ThresholdSweepLocScorer(cam_curve_interval=0.01)
    _scored(sweep, samples[:2])

    def sweep_counts(ss):
        flags = np.stack([r['flags'] for r in _scored(sweep, ss).results])
        return np.stack([((flags >> i) & 1).sum(0) for i in range(4)])

    jobs.append(('sweep', 0.01, sweep_counts, lambda ss: literal_sweep_counts(
        [(s['pred_cams'], s['pred_cam_labels'], s['gt_bboxes'], s['gt_label'])
         for s in ss], threshold_list(0.01)), np.array_equal))
    fixed = FixedThresholdLocScorer(cam_thr=0.1)
    _scored(fixed, samples[:2])

    def fixed_counts(ss):
        m = fixed.compute_metrics(_scored(fixed, ss).results)
        return {k: int(round(m[k] * len(ss) / 100)) for k in ('top1', 'top5', 'gt_known')}

    jobs.append(('fixed', 0.1, fixed_counts, lambda ss: literal_fixed_counts(
        [(s['pred_cam'], s['gt_bboxes'], s['pred_score'], s['gt_label']) for s in ss], 0.1),
        lambda a, b: a == b))
    return jobs


#: seconds each side runs untimed before its timed run (see per_metric_rows)
WARM_S = 0.05
#: shortest timed run: a side whose pass over the maps is quicker is timed over passes
#: back to back (see per_metric_rows)
MIN_RUN_S = 0.25


def _warmed(fn, samples: list) -> float:
    """Run ``fn`` on the first maps, then on more, until WARM_S seconds have passed; the
    seconds of a pass over all the maps, from the last run (scaled by its share of them)."""
    t0, n = time.perf_counter(), 1
    while True:
        t1 = time.perf_counter()
        fn(samples[:n])
        t2 = time.perf_counter()
        if t2 - t0 >= WARM_S:
            return (t2 - t1) * len(samples) / n
        n = min(2 * n, len(samples))


def _passes(seconds: float) -> int:
    """Passes over the maps for a timed run of at least MIN_RUN_S."""
    if seconds >= MIN_RUN_S:
        return 1
    return int(np.ceil(MIN_RUN_S / max(seconds, 1e-4)))


def _timed_passes(fn, samples: list, passes: int) -> tuple:
    """Result of the first pass, wall and CPU seconds per pass of ``passes`` back to back."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(samples)
    for _ in range(passes - 1):
        fn(samples)
    return out, (time.perf_counter() - t0) / passes, (time.process_time() - c0) / passes


def per_metric_rows(samples: list) -> list:
    """(name, interval, fast wall, ref wall, fast cpu, ref cpu, counts equal) per metric.

    REPEAT rounds over all metrics, each side's fastest run kept: the runs of one metric
    are spread over the whole part, not packed into a few milliseconds that one slow phase
    of a shared host can cover. Before its timed run each side runs untimed on the same
    maps for WARM_S seconds (more maps each time, from one): on a 2-vCPU Xeon guest a
    wsol_mm PxAP run of 3 ms right after the other side's 45 ms took 1.6x its steady
    time, and the next four runs 1.05-1.5x (the same after a 45 ms sleep: the host had
    taken the idle vCPU's core); one run of the previous metric's side warmed too little.
    Each timed run lasts at least MIN_RUN_S: a side that scores the maps faster (wsol_mm:
    2-30 ms) is timed over as many passes back to back, per pass, so that both sides' runs
    span many scheduler slices of the host (one 20 ms run, fastest of three, moved v1 at
    interval 0.01 between 14.7x and 20.4x on the same idle Xeon guest). The passes are
    counted from the untimed runs; the counts of the first are checked.
    """
    jobs = metric_jobs(samples)
    best = [[np.inf] * 4 for _ in jobs]
    same = [True] * len(jobs)
    for _ in range(REPEAT[0]):
        for j, (_name, _interval, fast_fn, ref_fn, equal) in enumerate(jobs):
            passes = _passes(_warmed(fast_fn, samples))
            fast, tf, cf = _timed_passes(fast_fn, samples, passes)
            passes = _passes(_warmed(ref_fn, samples))
            ref, tr, cr = _timed_passes(ref_fn, samples, passes)
            same[j] &= bool(equal(fast, ref))
            best[j] = [min(a, b) for a, b in zip(best[j], (tf, tr, cf, cr))]
    return [(name, interval, *best[j], same[j])
            for j, (name, interval, *_rest) in enumerate(jobs)]


def write_split(root: str, samples: list, kind: str) -> tuple:
    """wsolevaluation layout: ILSVRC-style boxes or OpenImages-style mask files."""
    rng = np.random.default_rng(1)
    meta = osp.join(root, 'metadata', 'ILSVRC' if kind == 'box' else 'OpenImages', 'test')
    os.makedirs(meta, exist_ok=True)
    ids, labels, sizes, loc = [], [], [], []
    for i, s in enumerate(samples):
        img_id = f'val/{i:05d}.JPEG'
        w, h = int(rng.integers(300, 500)), int(rng.integers(240, 400))
        ids.append(img_id)
        labels.append(f'{img_id},{s["gt_label"]}')
        sizes.append(f'{img_id},{w},{h}')
        save_scoremap(osp.join(root, 'cams'), img_id, s['pred_cam'])
        if kind == 'box':
            for x0, y0, x1, y1 in s['gt_bboxes']:
                loc.append(f'{img_id},{x0 * w / 224:.1f},{y0 * h / 224:.1f},'
                           f'{min(x1 * w / 224, w - 1):.1f},{min(y1 * h / 224, h - 1):.1f}')
        else:
            rel = f'test/{i:05d}.png'
            os.makedirs(osp.join(root, 'masks', 'OpenImages', 'test'), exist_ok=True)
            cv2.imwrite(osp.join(root, 'masks', 'OpenImages', rel),
                        s['gt_mask'].astype(np.uint8) * 255)
            loc.append(f'{img_id},{rel},')
    for name, lines in (('image_ids', ids), ('class_labels', labels),
                        ('image_sizes', sizes), ('localization', loc)):
        with open(osp.join(meta, f'{name}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    return meta, osp.join(root, 'cams')


def _run(cmd: list) -> tuple:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return time.perf_counter() - t0, out.stdout


def process_rows(samples: list, tmp: str) -> list:
    """Whole-process wall times of eval_cams.py and the literal reference, and start-ups
    (each the fastest of REPEAT runs)."""
    rows = []
    for kind, metric, key in (('box', 'maxboxaccv2', 'maxboxaccv2/mean'),
                              ('mask', 'pxap', 'pxap/pxap')):
        for n, sub in ((len(samples), 'all'), (1, 'one')):
            root = osp.join(tmp, f'{kind}_{sub}')
            meta, cams = write_split(root, samples[:n], kind)
            dataset = 'ILSVRC' if kind == 'box' else 'OpenImages'
            ours = [sys.executable, 'tools/analysis_tools/eval_cams.py', '--scoremap-root',
                    cams, '--metadata-root', osp.join(root, 'metadata'), '--dataset', dataset,
                    '--split', 'test', '--metrics', metric, '--no-progress',
                    '--cam-curve-interval', '0.001', '--mask-root', osp.join(root, 'masks')]
            ref = [sys.executable, 'benchmarks/eval_reference_process.py', meta, cams, kind,
                   '0.001', osp.join(root, 'masks', 'OpenImages')]
            t_ours, out = min(_run(ours) for _ in range(REPEAT[0]))
            t_ref, ref_out = min(_run(ref) for _ in range(REPEAT[0]))
            value = [line.split()[1] for line in out.splitlines() if line.startswith(key + ' ')]
            same = bool(value) and abs(float(value[0]) - float(ref_out)) < 5e-3
            rows.append((metric, n, t_ours, t_ref, same))
    return rows


def _cpu_model() -> str:
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True).stdout
        model = [line.split(':', 1)[1].strip() for line in out.splitlines()
                 if line.startswith('Model name')]
        return f'{model[0] if model else "unknown CPU"}, {os.cpu_count()} CPUs visible'
    except OSError:
        return 'unknown CPU'


def counts_verdict(ok: bool, sides: str) -> int:
    """Print whether every count matched between ``sides``; the exit status."""
    print('all counts identical' if ok else f'MISMATCH between {sides}')
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--process-images', type=int, default=500,
                        help='maps of Part 2 (0: skip Part 2)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeat', type=int, default=3,
                        help='rounds in Part 1, runs in Part 2 (fastest kept)')
    parser.add_argument('--threads', type=int, help='scoring threads of wsol_mm (default: '
                        "the scorers' default)")
    args = parser.parse_args()
    if args.num_images < 1 or args.process_images < 0:
        parser.error('--num-images must be at least 1 and --process-images at least 0 '
                     f'(0 skips Part 2), got {args.num_images} and {args.process_images}')
    REPEAT[0] = max(1, args.repeat)
    if args.threads:
        set_eval_threads(args.threads)
        os.environ['WSOL_MM_EVAL_THREADS'] = str(args.threads)  # eval_cams.py in Part 2
    samples = make_samples(max(args.num_images, args.process_images), seed=args.seed)
    print(f'CPU: {_cpu_model()}; numba={HAS_NUMBA}; load average {os.getloadavg()[0]:.1f}')
    print(f'Part 1: {args.num_images} maps 224x224 in memory, start-up excluded, fastest of '
          f'{REPEAT[0]} rounds over all metrics (each side timed after {1e3 * WARM_S:.0f} ms of '
          f'untimed runs, over passes of at least {1e3 * MIN_RUN_S:.0f} ms); ms '
          f'per image (wall), ratio = reference / wsol_mm on '
          f'{eval_threads()} thread(s) (wall; [cpu] = CPU-time ratio, per core)')
    print(f"{'metric':<7}{'interval':>9}{'wsol_mm':>9}{'ref':>9}{'ratio':>8}{'[cpu]':>9}"
          f"{'counts':>8}  target")
    ok = True
    n = args.num_images
    for name, interval, tf, tr, cf, cr, same in per_metric_rows(samples[:n]):
        ok &= bool(same)
        target = TARGETS.get((name, interval))
        verdict = '' if target is None else (
            f'>= {target}x ' + ('met' if tr / tf >= target else 'NOT MET'))
        print(f'{name:<7}{interval:>9g}{1e3 * tf / n:>9.3f}{1e3 * tr / n:>9.2f}'
              f'{tr / tf:>7.1f}x[{cr / max(cf, 1e-9):>6.1f}x]{"same" if same else "DIFFER":>8}'
              f'  {verdict}')
    if not args.process_images:
        print('Part 2: skipped (--process-images 0)')
        return counts_verdict(ok, 'wsol_mm and the reference')
    print('Part 2: whole processes at interval 0.001, wall seconds (eval_cams.py vs '
          'benchmarks/eval_reference_process.py)')
    with tempfile.TemporaryDirectory() as tmp:
        for metric, num, t_ours, t_ref, same in process_rows(samples[:args.process_images], tmp):
            ok &= same
            what = 'start-up (1 map)' if num == 1 else f'{num} maps'
            verdict = (f'< {STARTUP_TARGET_S:g} s ' + ('met' if t_ours < STARTUP_TARGET_S
                                                        else 'NOT MET')) if num == 1 else (
                f'>= {PROCESS_TARGET}x ' + ('met' if t_ref / t_ours >= PROCESS_TARGET
                                            else 'NOT MET')) if metric == 'maxboxaccv2' else ''
            print(f'{metric:<12}{what:>18}  eval_cams {t_ours:7.2f} s  reference {t_ref:7.2f} s'
                  f'  ratio {t_ref / t_ours:6.1f}x  {"same value" if same else "DIFFERENT"}'
                  f'  {verdict}')
    t_pkg, _ = _run([sys.executable, '-c', 'import wsol_mm.evaluation.offline_eval'])
    t_base, _ = _run([sys.executable, '-c', 'import numpy, cv2, numba'])
    print(f'start-up share: `import wsol_mm.evaluation.offline_eval` (no torch, no mmengine) '
          f'{t_pkg:.2f} s, of which numpy + cv2 + numba {t_base:.2f} s')
    return counts_verdict(ok, 'wsol_mm and the reference')


if __name__ == '__main__':
    sys.exit(main())
