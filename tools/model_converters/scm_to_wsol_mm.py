"""Convert a released SCM checkpoint (DeiT) to wsol_mm (``configs/scm``).

Usage:
    python tools/model_converters/scm_to_wsol_mm.py SRC.pth DST.pth

SCM is LCA-MD's parent code base: its diffusion layers are ``layers.<i>.thred`` and
``layers.<i>.fuse._loss_rate`` and there is no TFCM; the rules are in
``wsol_mm/models/converters/lca_md.py``.
"""
import argparse

import torch

from wsol_mm.apis.runner_utils import report_user_errors
from wsol_mm.models.converters import convert_scm, load_released


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released SCM checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    args = parser.parse_args()
    with report_user_errors('scm_to_wsol_mm.py'):
        state = convert_scm(load_released(args.src))
        torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
        print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
