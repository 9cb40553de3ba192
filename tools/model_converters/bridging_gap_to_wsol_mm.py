"""Convert a Bridging-the-Gap checkpoint (ejkim47/bridging-gap-wsol) to wsol_mm.

Usage:
    python tools/model_converters/bridging_gap_to_wsol_mm.py SRC.pth DST.pth [--layout L]

then ``tools/test.py configs/bridging_gap/<arch>_<dataset>.py DST.pth`` (or ``load_from``).
The split ``ResNetDrop`` (``layer4_1`` / ``layer4_2``) and ``VggDrop`` (``features.0`` /
``features.2``) networks and the plain CAM networks convert; the key rules are in
``wsol_mm/models/converters/bridging_gap.py``.
"""
import argparse

import torch

from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.fileio import atomic_open, load_checkpoint_file
from wsol_mm.models.converters import convert_bridging_gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released checkpoint ({"state_dict": ...})')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    parser.add_argument('--layout', choices=['resnet50_drop', 'vgg16_drop', 'resnet50', 'vgg16'],
                        help='default: from the key names')
    args = parser.parse_args()
    with report_user_errors('bridging_gap_to_wsol_mm.py'):
        converted = convert_bridging_gap(load_checkpoint_file(args.src, map_location='cpu'),
                                         args.layout)
        converted['meta']['converted_from'] = args.src
        with atomic_open(args.dst, 'wb') as f:  # a complete file or none
            torch.save(converted, f)
        meta = converted['meta']
        size = f' ({meta["feature_map"]} maps)' if meta['feature_map'] else ''
        print(f'{meta["layout"]}{size}: {len(converted["state_dict"])} tensors -> {args.dst}')


if __name__ == '__main__':
    main()
