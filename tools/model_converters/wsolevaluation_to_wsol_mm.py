"""Convert a wsolevaluation / Small-Object-Matters (CropCAM) checkpoint to wsol_mm.

Example:
    python tools/model_converters/wsolevaluation_to_wsol_mm.py \
        last_checkpoint.pth.tar work_dirs/cam_vgg16_cub.pth
then use it with ``--cfg-options load_from=work_dirs/cam_vgg16_cub.pth`` (tools/test.py
takes it as the checkpoint argument). The CAM networks (methods cam, has, cutmix, adl, crop)
and the ACoL / SPG networks convert (for configs/acol, configs/spg); the method is read
from the key names unless --method is given.
"""
import argparse

import torch

from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.fileio import load_checkpoint_file
from wsol_mm.models.converters import convert_wsolevaluation


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='official checkpoint (*.pth.tar)')
    parser.add_argument('dst', help='output .pth for wsol_mm')
    parser.add_argument('--arch', choices=['resnet50', 'vgg16', 'inception_v3'],
                        help="default: the checkpoint's 'architecture' entry or its key names")
    parser.add_argument('--method', choices=['cam', 'acol', 'spg'],
                        help="default: from the key names ('classifier_A' acol, 'SPG_C' spg)")
    return parser.parse_args()


def main():
    args = parse_args()
    with report_user_errors('wsolevaluation_to_wsol_mm.py'):
        # official checkpoints hold an optimizer state and plain Python values only
        checkpoint = load_checkpoint_file(args.src, map_location='cpu')
        converted = convert_wsolevaluation(checkpoint, args.arch, args.method)
        torch.save(converted, args.dst)
        meta = converted['meta']
        print(f'{meta["architecture"]} {meta["method"]}: {len(converted["state_dict"])} '
              f'tensors -> {args.dst}')


if __name__ == '__main__':
    main()
