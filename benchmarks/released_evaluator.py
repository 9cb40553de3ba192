"""Cross-check of eval_speed.py's reference side: wsolevaluation's own ``BoxEvaluator``.

``benchmarks/eval_speed.py`` times wsol_mm against ``literal_box_counts``
(``wsol_mm/evaluation/functional/literal_protocols.py``), a re-implementation of
the released per-threshold loop, because the released evaluator lives in another
repository and imports its training code. A re-implementation that skips some of
the released work would flatter wsol_mm. This script takes a checkout of
clovaai/wsolevaluation and times its ``BoxEvaluator.accumulate`` against
``literal_box_counts`` on the same maps (eval_speed.py's), in one run; counts must
be identical. A ratio near 1.0 means eval_speed.py's ratios are the ratios
against the released code.

Importing the 2020 ``evaluation.py`` on today's packages needs two things, done
here and nowhere else: stub modules for its imports that ``accumulate`` never
uses (``config``, ``data_loaders``: command line and dataset loading), and
numpy's ``np.float`` alias (removed in numpy 1.24; the released
``check_scoremap_validity`` compares dtypes with it).

Usage:
    git clone https://github.com/clovaai/wsolevaluation
    python benchmarks/released_evaluator.py --wsolevaluation wsolevaluation \
        [--num-images 100] [--repeat 3]
"""
import argparse
import importlib.util
import os.path as osp
import sys
import types

import numpy as np
from eval_speed import REPEAT, _clock, counts_verdict, make_samples

from wsol_mm.evaluation.functional.literal_protocols import literal_box_counts


def load_released(root: str) -> types.ModuleType:
    """``evaluation.py`` of a wsolevaluation checkout, importable on numpy >= 1.24."""
    for name in ('evaluation.py', 'util.py'):
        if not osp.isfile(osp.join(root, name)):
            sys.exit(f'--wsolevaluation {root}: no {name} there; pass the root of a '
                     'clovaai/wsolevaluation checkout')
    if not hasattr(np, 'float'):
        np.float = float  # the released dtype check; == np.float64 for dtype comparison
    for name, attrs in (('config', ('str2bool', )),
                        ('data_loaders', ('configure_metadata', 'get_image_ids',
                                          'get_bounding_boxes', 'get_image_sizes',
                                          'get_mask_paths'))):
        stub = types.ModuleType(name)
        for attr in attrs:
            setattr(stub, attr, None)
        sys.modules[name] = stub
    modules = {}
    for name in ('util', 'evaluation'):
        spec = importlib.util.spec_from_file_location(name, osp.join(root, f'{name}.py'))
        modules[name] = sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(modules[name])
    return modules['evaluation']


def released_counts(evaluation: types.ModuleType, samples: list, interval: float,
                    multi: bool, ious: tuple) -> np.ndarray:
    """``BoxEvaluator.accumulate`` over the maps (its metadata loading bypassed)."""
    evaluator = evaluation.BoxEvaluator.__new__(evaluation.BoxEvaluator)
    evaluator.cam_threshold_list = list(np.arange(0, 1, interval))  # as evaluate_wsol
    evaluator.iou_threshold_list = list(ious)
    evaluator.multi_contour_eval = multi
    evaluator.cnt = 0
    evaluator.num_correct = {t: np.zeros(len(evaluator.cam_threshold_list)) for t in ious}
    evaluator.gt_bboxes = {i: [tuple(int(c) for c in box) for box in s['gt_bboxes']]
                           for i, s in enumerate(samples)}
    for i, s in enumerate(samples):
        evaluator.accumulate(np.asarray(s['pred_cam']).astype(np.float64), i)  # t2n's cast
    return np.stack([evaluator.num_correct[t] for t in ious]).astype(np.int64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--wsolevaluation', required=True, help='checkout root')
    parser.add_argument('--num-images', type=int, default=100)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeat', type=int, default=3, help='runs per timing (fastest kept)')
    args = parser.parse_args()
    REPEAT[0] = max(1, args.repeat)  # eval_speed.py's clock: the fastest of REPEAT runs
    evaluation = load_released(args.wsolevaluation)
    samples = make_samples(args.num_images, seed=args.seed)
    n, ok = args.num_images, True
    print(f'{n} maps (eval_speed.py\'s), fastest of {args.repeat} runs, ms per map; '
          'ratio = released / literal_box_counts')
    print(f"{'metric':<7}{'interval':>9}{'released':>10}{'literal':>9}{'ratio':>8}{'counts':>8}")
    for interval in (0.01, 0.001):
        for name, multi, ious in (('v1', False, (50, )), ('V2', True, (30, 50, 70))):
            rel, t_rel, _ = _clock(
                lambda: released_counts(evaluation, samples, interval, multi, ious))
            lit, t_lit, _ = _clock(lambda: literal_box_counts(
                [(s['pred_cam'], s['gt_bboxes']) for s in samples],
                np.arange(0, 1, interval), ious, multi))
            same = np.array_equal(rel, lit)
            ok &= same
            print(f'{name:<7}{interval:>9g}{1e3 * t_rel / n:>10.2f}{1e3 * t_lit / n:>9.2f}'
                  f'{t_rel / t_lit:>7.2f}x{"same" if same else "DIFFER":>8}')
    return counts_verdict(ok, 'the released and literal loops')


if __name__ == '__main__':
    sys.exit(main())
