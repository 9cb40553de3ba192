"""Convert a released TS-CAM checkpoint (DeiT or Conformer) to a wsol_mm ``TSCAMLocalizer``.

Usage:
    python tools/model_converters/tscam_to_wsol_mm.py SRC.pth DST.pth [--backbone deit|conformer]

The released files hold ``{'state_dict': ...}`` (or ``model``, or a plain dict) with the
``nn.DataParallel`` prefix ``module.``. Every key must be consumed; unknown keys stop the
conversion with their names.
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from wsol_mm.fileio import load_checkpoint_file  # noqa: E402

# (released prefix, wsol_mm prefix); first match wins, everything else goes to `backbone.`.
HEAD_KEYS = {
    'deit': (('head.', 'head.conv.'), ),
    'conformer': (('trans_cls_head.', 'head.conv.'), ('conv_cls_head.', 'head.fc.')),
}
# Keys of the released code that have no counterpart (nothing learned in them).
IGNORED_PREFIXES = ('head_dist.', 'pooling.')


def convert(state: Dict[str, torch.Tensor], backbone: str = 'deit',
            extra_keys: Optional[Tuple[Tuple[str, str], ...]] = None
            ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename released TS-CAM keys to wsol_mm's.

    Args:
        state (dict): the released state dict (``module.`` prefix optional).
        backbone (str): ``'deit'`` (also ViT) or ``'conformer'``.
        extra_keys (tuple, optional): more ``(released prefix, wsol_mm prefix)``
            pairs, checked first (LCA-MD/SCM converters add their modules).

    Returns:
        OrderedDict: the wsol_mm state dict.
    """
    if backbone not in HEAD_KEYS:
        raise ValueError(f'backbone must be one of {sorted(HEAD_KEYS)}, got {backbone!r}')
    rules = tuple(extra_keys or ()) + HEAD_KEYS[backbone]
    out = OrderedDict()
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if key.startswith(IGNORED_PREFIXES):
            continue
        for src, dst in rules:
            if key.startswith(src):
                out[dst + key[len(src):]] = value
                break
        else:
            out['backbone.' + key] = value
    return out


def load_released(path: str) -> Dict[str, torch.Tensor]:
    """The state dict inside a released checkpoint file."""
    ckpt = load_checkpoint_file(path, map_location='cpu')  # weights_only, errors name the file
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and key in ckpt:
            return ckpt[key]
    return ckpt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released TS-CAM checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    parser.add_argument('--backbone', default='deit', choices=sorted(HEAD_KEYS))
    args = parser.parse_args()
    state = convert(load_released(args.src), args.backbone)
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}')


if __name__ == '__main__':
    main()
