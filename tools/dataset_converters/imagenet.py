"""ILSVRC2012 -> wsolevaluation metadata: ``test`` from val XML boxes, ``train`` from folders.

Examples:
    python tools/dataset_converters/imagenet.py test data/ILSVRC/val_xml \
        LOC_synset_mapping.txt data/metadata/ILSVRC/test
    python tools/dataset_converters/imagenet.py train data/ILSVRC/train \
        LOC_synset_mapping.txt data/metadata/ILSVRC/train

The ``val`` split (ImageNetV2 with boxes) and ``image_ids_proxy.txt`` come from
wsolevaluation's metadata (see data/README.md).
"""
import argparse

from wsol_mm.datasets.converters import imagenet_train_to_wsol, imagenet_val_to_wsol


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('split', choices=['test', 'train'],
                        help="'test': per-image val XMLs; 'train': train/<wnid>/ folders")
    parser.add_argument('src', help='folder of val XMLs, or the train image folder')
    parser.add_argument('synsets', help='synset list, one "<wnid> [description]" per line')
    parser.add_argument('out_dir', help='output split folder')
    parser.add_argument('--img-prefix', default=None,
                        help="image-id prefix under the ILSVRC root (default 'val' / 'train')")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.split == 'test':
        n = imagenet_val_to_wsol(args.src, args.synsets, args.out_dir, args.img_prefix or 'val')
    else:
        n = imagenet_train_to_wsol(args.src, args.synsets, args.out_dir,
                                   args.img_prefix or 'train')
    print(f'{args.split}: {n} images -> {args.out_dir}')


if __name__ == '__main__':
    main()
