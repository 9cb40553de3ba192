"""Convert a released TS-CAM checkpoint (DeiT or Conformer) to a wsol_mm ``TSCAMLocalizer``.

Usage:
    python tools/model_converters/tscam_to_wsol_mm.py SRC.pth DST.pth [--backbone deit|conformer]

The key rules are in ``wsol_mm/models/converters/tscam.py``.
"""
import argparse

import torch

from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.models.converters import convert_tscam, load_released
from wsol_mm.models.converters.tscam import HEAD_KEYS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released TS-CAM checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    parser.add_argument('--backbone', default='deit', choices=sorted(HEAD_KEYS))
    args = parser.parse_args()
    with report_user_errors('tscam_to_wsol_mm.py'):
        state = convert_tscam(load_released(args.src), args.backbone)
        torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
        print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
