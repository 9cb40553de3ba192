"""Native CUB_200_2011 -> wsolevaluation metadata (train / test splits).

Example:
    python tools/dataset_converters/cub.py data/CUB_200_2011 data/metadata/CUB

CUBV2 (val) and CUBSmall (small) have no native files: use the metadata shipped by
wsolevaluation / Small-Object-Matters (see data/README.md).
"""
import argparse
import os.path as osp

from wsol_mm.datasets.converters import cub_to_wsol


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cub_root', help='the CUB_200_2011 folder (images.txt, images/ ...)')
    parser.add_argument('out_dir', help='output folder, e.g. data/metadata/CUB')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'],
                        choices=['train', 'test'])
    parser.add_argument('--no-sizes', action='store_true',
                        help='do not open images (image_sizes.txt stays empty, boxes unclipped)')
    return parser.parse_args()


def main():
    args = parse_args()
    counts = cub_to_wsol(args.cub_root, args.out_dir, args.splits, not args.no_sizes)
    for split, n in counts.items():
        print(f'{split}: {n} images -> {osp.join(args.out_dir, split)}')


if __name__ == '__main__':
    main()
