"""COCO-style json -> one wsolevaluation split folder (+ class_names.txt, masks).

Example:
    python tools/dataset_converters/coco.py data/mine/annotations/test.json \\
        data/mine/metadata/test [--ann-kind mask] [--classes names.txt]

Label and box rules (images with several categories, crowd regions ...):
data/README.md, "Your own data".
"""
import argparse
import os.path as osp
import sys

from wsol_mm.datasets.converters import coco_to_wsol
from wsol_mm.datasets.converters.coco import MULTI_LABEL_RULES
from wsol_mm.datasets.metadata import MetadataError


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_file', help='the COCO json')
    parser.add_argument('out_dir', help='output split folder, e.g. data/mine/metadata/test')
    parser.add_argument('--ann-kind', choices=['box', 'mask'], default='box',
                        help='box: localization.txt holds boxes; mask: object / ignore PNGs '
                        'are written to OUT_DIR/masks and listed (PxAP evaluation)')
    parser.add_argument('--classes', help='file with one class name per line (label order); '
                        'default: every category, sorted by id')
    parser.add_argument('--multi-label', choices=MULTI_LABEL_RULES, default='largest',
                        help='label of an image with several categories (default: the one '
                        'with the largest annotated area)')
    parser.add_argument('--overwrite', action='store_true', help='replace a non-empty OUT_DIR')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    classes = None
    if args.classes:
        with open(args.classes, encoding='utf-8') as f:
            classes = [line.strip() for line in f if line.strip()]
    try:
        count = coco_to_wsol(args.ann_file, args.out_dir, args.ann_kind, classes,
                             args.multi_label, args.overwrite)
    except (MetadataError, FileNotFoundError, FileExistsError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'{count} images -> {args.out_dir} (class names: '
          f'{osp.join(args.out_dir, "class_names.txt")})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
