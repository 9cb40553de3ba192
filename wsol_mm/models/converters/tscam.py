"""Released TS-CAM checkpoints (DeiT or Conformer) -> wsol_mm ``TSCAMLocalizer`` state dicts.

The released files hold ``{'state_dict': ...}`` (or ``model``, or a plain dict) with the
``nn.DataParallel`` prefix ``module.``. Every key is consumed: head keys are renamed,
everything else goes to ``backbone.``.
"""
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import torch

from wsol_mm.fileio import load_checkpoint_file

# (released prefix, wsol_mm prefix); first match wins, everything else goes to `backbone.`.
HEAD_KEYS = {
    'deit': (('head.', 'head.conv.'), ),
    'conformer': (('trans_cls_head.', 'head.conv.'), ('conv_cls_head.', 'head.fc.')),
}
# Keys of the released code that have no counterpart (nothing learned in them).
IGNORED_PREFIXES = ('head_dist.', 'pooling.')


def convert_tscam(state: Dict[str, torch.Tensor], backbone: str = 'deit',
                  extra_keys: Optional[Tuple[Tuple[str, str], ...]] = None
                  ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename released TS-CAM keys to wsol_mm's.

    Args:
        state (dict): the released state dict (``module.`` prefix optional).
        backbone (str): ``'deit'`` (also ViT) or ``'conformer'``.
        extra_keys (tuple, optional): more ``(released prefix, wsol_mm prefix)``
            pairs, checked first (the LCA-MD/SCM converter adds its modules).

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


def released_state_dict(ckpt: dict) -> Dict[str, torch.Tensor]:
    """The state dict inside a loaded released checkpoint (``state_dict`` / ``model`` / plain)."""
    for key in ('state_dict', 'model'):
        if isinstance(ckpt, dict) and key in ckpt:
            return ckpt[key]
    return ckpt


def load_released(path: str) -> Dict[str, torch.Tensor]:
    """The state dict inside a released checkpoint file."""
    # weights_only loading (the released files are dicts of tensors and plain values);
    # anything else fails with a message naming the file and the explicit opt-in
    return released_state_dict(load_checkpoint_file(path, map_location='cpu'))
