"""Evaluate stored score maps (``<scoremap_root>/<image_id>.npy``) like wsolevaluation.

Example:
    python tools/analysis_tools/eval_cams.py --metadata-root metadata --dataset CUB \
        --split test --scoremap-root work_dirs/cams --out result.json --plot-dir plots
"""
import argparse
import json
import sys

from wsol_mm.evaluation.offline_eval import evaluate_scoremaps, plot_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Offline WSOL evaluation of score maps')
    parser.add_argument('--metadata-root', required=True, help='holds <DATASET>/<split>/*.txt')
    parser.add_argument('--dataset', required=True, choices=['CUB', 'ILSVRC', 'OpenImages'])
    parser.add_argument('--split', required=True, choices=['val', 'test'])
    parser.add_argument('--scoremap-root', required=True, help='holds <image_id>.npy maps')
    parser.add_argument('--mask-root', help='mask root (OpenImages/ is appended)')
    parser.add_argument('--cam-curve-interval', type=float, default=0.001)
    choices = ['maxboxacc', 'maxboxaccv2', 'pxap', 'size']
    parser.add_argument('--metrics', nargs='+', default=choices, choices=choices)
    parser.add_argument('--out', help='write the results (with curves) as JSON')
    parser.add_argument('--plot-dir', help='write PNG plots here')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        results = evaluate_scoremaps(args.metadata_root, args.dataset, args.split,
                                     args.scoremap_root, args.mask_root,
                                     args.cam_curve_interval, args.metrics,
                                     progress=not args.no_progress)
    except (FileNotFoundError, ValueError, RuntimeError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f"{'metric':<28}{'value':>10}")
    for key, value in results.items():
        if '/' in key and 'best_thr' not in key:
            print(f'{key:<28}{value:>10.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=1)
        print(f'results written to {args.out}')
    if args.plot_dir:
        for path in plot_results(results, args.plot_dir):
            print(f'plot written to {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
