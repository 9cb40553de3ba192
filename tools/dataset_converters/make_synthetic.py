"""Generate the SyntheticWSOL benchmark (wsolevaluation metadata with boxes and masks).

Example::

    python tools/dataset_converters/make_synthetic.py --out data/synthetic
    python tools/dataset_converters/make_synthetic.py --out data/synthetic_small --preset small
"""
import argparse
import json
import os.path as osp
import sys
import time

from wsol_mm.datasets.synthetic import SIZE_BINS, generate_synthetic, preset_config


def parse_args(argv=None) -> argparse.Namespace:
    """Parses the command line.

    Args:
        argv (list, optional): arguments; ``sys.argv[1:]`` when None.

    Returns:
        argparse.Namespace: the parsed arguments.
    """
    parser = argparse.ArgumentParser(description='Generate the SyntheticWSOL benchmark')
    parser.add_argument('--out', default='data/synthetic', help='output directory')
    parser.add_argument('--preset', default='default', choices=['default', 'small', 'large'],
                        help='object-size distribution')
    parser.add_argument('--num-classes', type=int, default=4)
    parser.add_argument('--image-size', type=int, default=128, help='square image side (px)')
    parser.add_argument('--train', type=int, default=400, help='images in the train split')
    parser.add_argument('--val', type=int, default=100, help='images in the val split')
    parser.add_argument('--test', type=int, default=100, help='images in the test split')
    parser.add_argument('--max-objects', type=int, default=1, help='objects per image: 1..N')
    parser.add_argument('--min-area', type=float, default=None,
                        help='smallest box-area fraction (overrides the preset)')
    parser.add_argument('--max-area', type=float, default=None,
                        help='largest box-area fraction (overrides the preset)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace an existing SyntheticWSOL dataset with another config')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    """Entry point; returns the process exit status."""
    args = parse_args(argv)
    try:
        cfg = preset_config(
            args.preset, num_classes=args.num_classes, image_size=args.image_size,
            splits={'train': args.train, 'val': args.val, 'test': args.test},
            max_objects=args.max_objects, min_area=args.min_area, max_area=args.max_area,
            seed=args.seed)
        start = time.perf_counter()
        root = generate_synthetic(args.out, cfg, progress=not args.no_progress,
                                  overwrite=args.overwrite)
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - start
    with open(osp.join(root, 'meta.json')) as f:
        meta = json.load(f)

    print(f'SyntheticWSOL ({args.preset}, {cfg.num_classes} classes, {cfg.wh[0]}x{cfg.wh[1]}) '
          f'at {osp.abspath(root)} [{elapsed:.1f} s]')
    print(f'classes: {", ".join(meta["class_names"])}')
    labels = [f'{a}-{b}%' for a, b in zip(SIZE_BINS[:-1], SIZE_BINS[1:])]
    width = max(len(s) for s in labels) + 1
    print(f'{"split":<8}{"images":>8}{"objects":>9}  box-area histogram')
    print(f'{"":<25}  ' + ''.join(f'{s:>{width}}' for s in labels))
    for split in cfg.splits:
        st = meta['stats'][split]
        print(f'{split:<8}{st["num_images"]:>8}{st["num_objects"]:>9}  '
              + ''.join(f'{c:>{width}}' for c in st['size_hist']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
