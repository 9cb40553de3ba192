"""Convert a released SCM checkpoint (DeiT) to a wsol_mm ``SCMLocalizer`` state dict.

Usage:
    python tools/model_converters/scm_to_wsol_mm.py SRC.pth DST.pth

SCM is LCA-MD's parent code base: its diffusion layers are ``layers.<i>.thred`` and
``layers.<i>.fuse._loss_rate`` (the module LCA-MD renamed ``ssfm``; the name is inferred from
the released logging regex, spec §2.10) and there is no TFCM. Everything else is converted
as in ``lca_md_to_wsol_mm.py`` / ``tscam_to_wsol_mm.py``.
"""
import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # the sibling converters
import lca_md_to_wsol_mm as lca_md  # noqa: E402


def convert(state: dict) -> dict:
    """Rename released SCM keys to wsol_mm's ``SCMLocalizer`` keys."""
    return lca_md.convert(state, fusion_name='fuse', with_tfcm=False)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released SCM checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    args = parser.parse_args()
    state = convert(lca_md.tscam.load_released(args.src))
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
