"""Curves and training time from ``vis_data/scalars.json`` (mmpretrain's analyze_logs).

    python tools/analysis_tools/analyze_logs.py plot_curve LOG [LOG ...] --keys loss \
        maxboxaccv2/mean --out curves.png [--legend A B ...] [--title T]
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG [LOG ...] [--include-outliers]

LOG is a ``scalars.json`` file, a run folder or a work dir (its newest run).
"""
import argparse
import sys

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.visualization import save_rgb
from wsol_mm.visualization.log_curves import load_scalars, plot_curves, train_time_stats


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze training logs (scalars.json)')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of some keys')
    plot.add_argument('json_logs', nargs='+', help='scalars.json files or run folders')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='keys to plot')
    plot.add_argument('--legend', nargs='+', help='one name per curve')
    plot.add_argument('--title', default='', help='figure title')
    plot.add_argument('--out', required=True, help='output image (PNG)')
    timing = sub.add_parser('cal_train_time', help='time per iteration, per epoch')
    timing.add_argument('json_logs', nargs='+', help='scalars.json files or run folders')
    timing.add_argument('--include-outliers', action='store_true',
                        help="keep each epoch's first iteration (data loader warm-up)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logs = [load_scalars(path) for path in args.json_logs]
    if args.task == 'plot_curve':
        image, series = plot_curves(logs, args.keys, args.legend, args.title)
        save_rgb(image, args.out)
        for name, (x, y) in series.items():
            print(f'{name}: {len(y)} points, first {y[0]:.6g} at {x[0]:g}, '
                  f'last {y[-1]:.6g} at {x[-1]:g}, min {y.min():.6g}, max {y.max():.6g}')
        print(f'saved {args.out}')
        return
    for log in logs:
        stats = train_time_stats(log, args.include_outliers)
        print(f'-----Analyze train time of {log["path"]}-----')
        print(f'slowest epoch {stats["slowest"][0]}, average time is '
              f'{stats["slowest"][1]:.4f} s/iter')
        print(f'fastest epoch {stats["fastest"][0]}, average time is '
              f'{stats["fastest"][1]:.4f} s/iter')
        print(f'time std over epochs is {stats["std"]:.4f}')
        print(f'average iter time: {stats["mean"]:.4f} s/iter')


if __name__ == '__main__':
    try:
        main()
    except (ValueError, KeyError, FileNotFoundError) as err:  # one message, no traceback
        sys.exit(f'analyze_logs.py: {err.args[0] if isinstance(err, KeyError) else err}')
