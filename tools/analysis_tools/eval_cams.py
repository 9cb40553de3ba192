"""Evaluate stored score maps offline with the same metric code as online evaluation.

Maps written by ``tools/test.py --out-scoremaps DIR`` (any config, any input size)::

    python tools/analysis_tools/eval_cams.py --scoremap-root DIR [--out r.json] [--plot-dir P]

Maps in wsolevaluation's layout from elsewhere (frame = each map's own size)::

    python tools/analysis_tools/eval_cams.py --scoremap-root cams --metadata-root metadata \
        --dataset CUB --split test [--mask-root dataset] [--metrics maxboxacc maxboxaccv2 size]
"""
import argparse
import os
import os.path as osp
import sys

from wsol_mm.evaluation.offline_eval import (
    DATASETS,
    METRIC_NAMES,
    evaluate_scoremaps,
    run_title,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Offline WSOL evaluation of score maps')
    parser.add_argument('--scoremap-root', required=True, help='holds <image_id>.npy maps')
    parser.add_argument('--metadata-root', help='wsolevaluation metadata root (metadata mode); '
                        'for SyntheticWSOL the data root')
    parser.add_argument('--dataset', choices=sorted(DATASETS))
    parser.add_argument('--split', help='e.g. val or test')
    parser.add_argument('--ann-kind', choices=['box', 'mask'], help="default: the dataset's; "
                        'mask reads metadata_masks/ for SyntheticWSOL')
    parser.add_argument('--mask-root', help='root of the mask paths (OpenImages/ is appended '
                        'for OpenImages; SyntheticWSOL: <metadata-root>/masks)')
    parser.add_argument('--metrics', nargs='+', choices=sorted(METRIC_NAMES) + ['size'],
                        help="default: the run's metrics (sidecar) or the wsolevaluation ones; "
                        "'size' adds size bins")
    parser.add_argument('--cam-curve-interval', type=float, help='override the CAM threshold step')
    parser.add_argument('--size-bin-rule', choices=['chosen', 'released'],
                        help='empty size bins: at the chosen threshold (wsol_mm) or at any '
                        'threshold (Small Object Matters release)')
    parser.add_argument('--out', help='write the results (with curves) as JSON')
    parser.add_argument('--plot-dir', help='write PNG plots here')
    parser.add_argument('--title', help='plot title (default: model and split)')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--threads', type=int,
                        help='threads scoring the maps (default: $WSOL_MM_EVAL_THREADS, else '
                        'min(4, CPUs per local rank)); the results do not depend on it')
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f'--threads must be at least 1, got {args.threads}')
    if (args.metadata_root or args.dataset or args.split) and not (
            args.metadata_root and args.dataset and args.split):
        parser.error('metadata mode needs --metadata-root, --dataset and --split together')
    return args


def _split(args):
    if not args.metadata_root:
        return None, None, None
    folder, kind = DATASETS[args.dataset]
    kind = args.ann_kind or kind
    if args.dataset == 'SyntheticWSOL':
        sub = 'metadata' if kind == 'box' else 'metadata_masks'
        mask_root = args.mask_root or osp.join(args.metadata_root, 'masks')
        return osp.join(args.metadata_root, sub, args.split), kind, mask_root
    mask_root = args.mask_root and osp.join(args.mask_root, 'OpenImages')
    return osp.join(args.metadata_root, folder.format(split=args.split)), kind, mask_root


def _print(results: dict) -> None:
    """One line per key; a size bin shows its image count, an empty one says so."""
    keys = [k for k, v in results.items() if '/' in k and isinstance(v, (int, float))
            and '/count_' not in k]
    width = max(len(k) for k in keys) + 2
    print(f"{'metric':<{width}}{'value':>10}  ({results['num_images']} images)")
    for key in keys:
        prefix, name = key.split('/', 1)
        count = results.get(f'{prefix}/count_{name}')
        value = 'empty' if count == 0 else f'{results[key]:.2f}'
        print(f'{key:<{width}}{value:>10}' + (f'  n={count}' if count is not None else ''))


def main(argv=None) -> int:
    args = parse_args(argv)
    split_dir, kind, mask_root = _split(args)
    if args.threads:
        from wsol_mm.evaluation.scorers.image_pool import set_eval_threads
        set_eval_threads(args.threads)
    overrides = dict(cam_curve_interval=args.cam_curve_interval,
                     size_bin_rule=args.size_bin_rule,
                     curve_interval=0.01 if args.plot_dir else None)
    try:
        results = evaluate_scoremaps(args.scoremap_root, args.metrics, split_dir, kind or 'box',
                                     mask_root, not args.no_progress, overrides)
    except (ValueError, OSError) as err:  # bad input: one line naming the file, no traceback
        print(f'error: {err}', file=sys.stderr)
        return 1
    _print(results)
    if args.out:
        import json

        from wsol_mm.evaluation.functional import atomic_write
        atomic_write(args.out, lambda f: f.write(json.dumps(results, indent=1).encode()))
        print(f'results written to {args.out}')
    if args.plot_dir:
        from wsol_mm.evaluation.plots import plot_results
        title = args.title or run_title(results['run'], f'{args.dataset} {args.split}')
        for path in plot_results(results, args.plot_dir, title):
            print(f'plot written to {path}')
    return 0


def exit_without_teardown(code: int) -> None:
    """Flush the output, then end the process without the interpreter's teardown.

    Freeing numba's and LLVM's objects at exit takes 0.15-0.2 s, a fifth of a 500-map
    evaluation; everything this tool writes is closed by then (files are written
    atomically, plots saved and closed), so only the standard streams need flushing.
    """
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # e.g. a closed pipe: CPython's own exit status for a failed flush
        code = code or 120
    os._exit(code)


if __name__ == '__main__':
    exit_without_teardown(main())
