"""Where MaxBoxAcc's time goes, per 224 x 224 map, next to the released loop.

``eval_speed.py`` gives one ratio per metric. This script splits wsol_mm's side
into its parts, on eval_speed.py's maps, at one CAM-threshold interval:

- ``sort``: quantise to uint8, check the values, counting-sort the pixels by
  value with their neighbour masks (``sort_pixels``; V2's also builds the hole masks);
- ``foreground``: the union-find pass over the sorted pixels that scores every
  outer contour at every wanted cut-off (v1: areas, ties, bounds; V2: bounds
  that decide where the hole pass is needed), until the lowest cut-offs are
  settled (v1: one component holds more than half the map; V2: block bounds);
- ``holes``: V2's hole pass (background union-find up to the last cut-off where
  a hole box could cross an IoU threshold);
- ``box_record``: one map's whole record (the parts above in one compiled call, plus
  the argument checks, work buffers and bits around it);
- ``scorer``: the whole scorer on one thread and on the scorers' default thread
  count (what eval_speed.py times, with the counts read out).

The kernel parts run on one thread; every time is the fastest of ``--repeat`` runs
(eval_speed.py's clock, on both sides). The last lines give the scorer's ratio to the
released loop (``literal_box_counts``, timed here too) and, at the intervals issue 14
sets a target for (eval_speed.py's ``TARGETS``), the per-map time the target needs.

Usage:
    python benchmarks/scan_parts.py [--num-images 100] [--interval 0.01] [--repeat 5]
"""
import argparse

import numpy as np
from eval_speed import REPEAT, TARGETS, _clock, _cpu_model, make_samples

from wsol_mm.evaluation.functional import box_correct_counts, box_record, threshold_list
from wsol_mm.evaluation.functional._cutoff_scan_kernels import _foreground_pass
from wsol_mm.evaluation.functional._hole_scan_kernels import _hole_pass
from wsol_mm.evaluation.functional._tail_bound_kernels import tail_setup
from wsol_mm.evaluation.functional._union_find_kernels import sort_pixels
from wsol_mm.evaluation.functional.cutoff_scan import _workspace, threshold_cutoffs
from wsol_mm.evaluation.functional.literal_protocols import literal_box_counts
from wsol_mm.evaluation.scorers import MaxBoxAccScorer, MaxBoxAccV2Scorer
from wsol_mm.evaluation.scorers.image_pool import eval_threads, set_eval_threads

EMPTY_BOX = np.zeros(4)


def per_map_ms(fn, num: int) -> float:
    """Milliseconds per map of ``fn`` (which handles ``num`` maps): after a warm-up call
    (compilation or cache load), the fastest of eval_speed.py's ``--repeat`` runs."""
    fn()
    return 1e3 * _clock(fn)[1] / num


def kernel_parts(samples: list, thresholds: np.ndarray) -> dict:
    """Per-map ms of the sort and the foreground pass (v1, V2) and of V2's hole pass."""
    h, w = samples[0]['pred_cam'].shape
    u, order, starts, pad, lab, parent, rec, shp, iou, live = _workspace(h, w)
    sorted_maps = []
    for s in samples:  # each map's sort, kept to time the passes on their own
        sort_pixels(s['pred_cam'], False, u, order, starts, pad, True)  # masks for both
        wanted = np.zeros(256, np.bool_)
        wanted[threshold_cutoffs(thresholds, int(np.flatnonzero(np.diff(starts))[-1]))] = True
        sorted_maps.append((order.copy(), starts.copy(), wanted,
                            np.ascontiguousarray(s['gt_bboxes'], np.float64), u.copy()))

    def sort_all(holes: bool):
        def run():
            for s in samples:
                sort_pixels(s['pred_cam'], False, u, order, starts, pad, holes)
        return run

    def passes(multi: bool, holes: bool):
        floors = np.array([0.3, 0.5, 0.7] if multi else [0.5])

        def run():
            for o, st, wanted, gts, levels in sorted_maps:
                ious, gidx = np.full(256, -1.0), np.zeros(256, np.int64)
                status = np.zeros(256, np.int8)
                bmin, target = tail_setup(levels, gts, floors, multi)  # V2's early stop
                _foreground_pass(gts, wanted, multi, True, EMPTY_BOX, floors, (h, w), o, st,
                                 lab, parent, rec, shp, iou, live, ious, gidx, status, bmin,
                                 target)
                if holes:
                    _hole_pass(gts, wanted, levels, o, st, lab, parent, rec, shp, iou, live, ious,
                               gidx, status)
        return run

    n = len(samples)
    fg_v2 = per_map_ms(passes(True, False), n)
    return dict(sort_v1=per_map_ms(sort_all(False), n), sort_v2=per_map_ms(sort_all(True), n),
                fg_v1=per_map_ms(passes(False, False), n),
                fg_v2=fg_v2, holes=max(0.0, per_map_ms(passes(True, True), n) - fg_v2))


def scorer_ms(cls, samples: list, interval: float, threads: int) -> float:
    """Per-map wall ms of the scorer and the count read-out, as eval_speed.py times it."""
    set_eval_threads(threads)
    scorer = cls(cam_curve_interval=interval)
    thresholds = scorer.thresholds

    def run():
        scorer.results.clear()
        scorer.process(None, samples)
        box_correct_counts(scorer.results, thresholds, len(scorer.iou_thrs))
    try:
        return per_map_ms(run, len(samples))
    finally:
        set_eval_threads(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--interval', type=float, default=0.01)
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    samples = make_samples(args.num_images)
    thresholds = threshold_list(args.interval)
    n = len(samples)
    REPEAT[0] = max(1, args.repeat)
    print(f'CPU: {_cpu_model()}; {n} maps 224x224, interval {args.interval:g}, '
          f'ms per map, fastest of {REPEAT[0]} runs')
    parts = kernel_parts(samples, thresholds)
    threads = eval_threads()
    rows = {}
    for name, cls, multi, ious in (('v1', MaxBoxAccScorer, False, (50, )),
                                   ('V2', MaxBoxAccV2Scorer, True, (30, 50, 70))):
        record = per_map_ms(lambda: [box_record(s['pred_cam'], s['gt_bboxes'], multi, ious,
                                             thresholds=thresholds) for s in samples], n)
        ref = 1e3 * _clock(lambda: literal_box_counts(
            [(s['pred_cam'], s['gt_bboxes']) for s in samples], thresholds, ious, multi))[1] / n
        rows[name] = dict(sort=parts['sort_v2' if multi else 'sort_v1'],
                          foreground=parts['fg_v2' if multi else 'fg_v1'],
                          holes=parts['holes'] if multi else 0.0,
                          record=record,
                          scorer_1=scorer_ms(cls, samples, args.interval, 1),
                          scorer_n=scorer_ms(cls, samples, args.interval, threads),
                          reference=ref)
    print(f"{'part':<24}{'v1':>9}{'V2':>9}")
    labels = dict(sort='sort', foreground='foreground pass', holes='hole pass',
                  record='box_record', scorer_1='scorer, 1 thread',
                  scorer_n=f'scorer, {threads} thread(s)', reference='released loop')
    for key, label in labels.items():
        print(f'{label:<24}{rows["v1"][key]:>9.3f}{rows["V2"][key]:>9.3f}')
    for name, row in rows.items():
        ratio = row['reference'] / row['scorer_n']
        target = TARGETS.get((name, args.interval))
        verdict = '' if target is None else (
            f'; >= {target}x met' if ratio >= target else
            f'; {target}x needs <= {row["reference"] / target:.3f} ms per map, '
            f'{ratio and target / ratio:.2f}x faster than now')
        print(f'{name}: ratio {ratio:.1f}x on {threads} thread(s){verdict}')

if __name__ == '__main__':
    main()
