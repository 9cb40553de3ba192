"""Convert a released LCA-MD checkpoint (DeiT / ViT / Conformer) to wsol_mm (``configs/lca_md``).

Usage:
    python tools/model_converters/lca_md_to_wsol_mm.py SRC.pth DST.pth [--backbone deit|conformer]

The key rules are in ``wsol_mm/models/converters/lca_md.py``.
"""
import argparse

import torch

from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.models.converters import convert_lca_md, load_released
from wsol_mm.models.converters.tscam import HEAD_KEYS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released LCA-MD checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    parser.add_argument('--backbone', default='deit', choices=sorted(HEAD_KEYS))
    args = parser.parse_args()
    with report_user_errors('lca_md_to_wsol_mm.py'):
        state, dropped = convert_lca_md(load_released(args.src), backbone=args.backbone)
        torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
        print(f'wrote {len(state)} tensors to {args.dst}; dropped unused {dropped}')


if __name__ == '__main__':
    main()
