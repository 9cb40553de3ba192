"""WSOL failure browser: ``analyze_results.py CONFIG RESULT --out-dir DIR``.

RESULT is the file of ``tools/test.py CONFIG CKPT --out RESULT``. Writes to DIR:
``per_image.csv`` (IoU at the evaluated CAM threshold, object size and size bin of every
image), ``gallery.png`` (best and worst images of every size bin, small objects first),
``iou_vs_size.png`` (IoU against object size) and ``summary.json``.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

import wsol_mm  # noqa: F401  (compat shims first)
from wsol_mm.apis import get_class_names, per_image_localization, split_by_size
from wsol_mm.apis.runner_utils import add_config_args, config_from_args, report_user_errors
from wsol_mm.utils.wsol_results_io import load_wsol_results
from wsol_mm.visualization import draw_iou_vs_size, draw_size_gallery, save_rgb

CSV_KEYS = ('index', 'img_id', 'size_percent', 'size_bin', 'bin_name', 'iou', 'loc_correct',
            'gt_label', 'gt_class', 'pred_label', 'pred_class', 'cls_correct')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Per-image IoU by object size, galleries')
    parser.add_argument('config', help='the config the results were computed with')
    parser.add_argument('result', help='results file of tools/test.py --out')
    parser.add_argument('--out-dir', required=True, help='folder for the figures and tables')
    parser.add_argument('--topk', type=int, default=4,
                        help='best and worst images shown per size bin')
    parser.add_argument('--cam-thr', default='best',
                        help="CAM threshold, or 'best' (MaxBoxAcc's choice on these results)")
    parser.add_argument('--iou-thr', type=float, default=50, help='IoU threshold in percent')
    parser.add_argument('--v1', action='store_true',
                        help='largest-contour boxes (MaxBoxAcc v1) instead of MaxBoxAccV2')
    add_config_args(parser)
    return parser.parse_args()


def _name(label, classes) -> str:
    return '' if label is None or label >= len(classes) else classes[label]


def main() -> None:
    args = parse_args()
    with report_user_errors('analyze_results.py'):
        cfg = config_from_args(args)
    cam_thr = args.cam_thr if args.cam_thr == 'best' else float(args.cam_thr)
    records = load_wsol_results(args.result)
    classes = get_class_names(cfg)
    analysis = per_image_localization(records, cam_thr, args.iou_thr, not args.v1)
    names = analysis['bin_names']
    bins = split_by_size(analysis['rows'], len(names), args.topk)
    os.makedirs(args.out_dir, exist_ok=True)

    with open(osp.join(args.out_dir, 'per_image.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=CSV_KEYS, extrasaction='ignore')
        writer.writeheader()
        for row in analysis['rows']:
            writer.writerow(dict(row, bin_name=names[row['size_bin']], iou=f'{row["iou"]:.4f}',
                                 size_percent=f'{row["size_percent"]:.3f}',
                                 gt_class=_name(row['gt_label'], classes),
                                 pred_class=_name(row['pred_label'], classes)))
    title = f'{osp.basename(args.config)}: {osp.basename(args.result)}'
    save_rgb(draw_size_gallery(bins, names, records, analysis['cam_thr'], args.iou_thr,
                               not args.v1, args.topk, classes, title),
             osp.join(args.out_dir, 'gallery.png'))
    save_rgb(draw_iou_vs_size(analysis, bins, title), osp.join(args.out_dir, 'iou_vs_size.png'))
    correct = sum(r['loc_correct'] for r in analysis['rows'])
    summary = dict(config=args.config, result=args.result, cam_thr=analysis['cam_thr'],
                   iou_thr=args.iou_thr, boxes='v1' if args.v1 else 'v2',
                   num_images=len(records), accuracy=100.0 * correct / len(records),
                   bins=[dict(name=names[b['bin']], count=b['count'], accuracy=b['accuracy'],
                              mean_iou=b['mean_iou'],
                              best=[r['img_id'] for r in b['best']],
                              worst=[r['img_id'] for r in b['worst']]) for b in bins])
    with open(osp.join(args.out_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    print(f'CAM threshold {analysis["cam_thr"]:.3f}: {summary["accuracy"]:.2f} % of '
          f'{len(records)} images with IoU >= {args.iou_thr:g} %')
    for b in summary['bins']:
        acc = '-' if b['accuracy'] is None else f'{b["accuracy"]:6.2f} %'
        print(f'  {b["name"]:<14} {b["count"]:>6} images  {acc}')
    print(f'figures and tables in {args.out_dir}')


if __name__ == '__main__':
    try:
        main()
    except (ValueError, FileNotFoundError) as err:  # user input: one message, no traceback
        sys.exit(f'analyze_results.py: {err}')
