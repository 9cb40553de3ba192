"""Released LCA-MD / SCM checkpoints -> wsol_mm ``TSCAMLocalizer`` state dicts with neck keys.

Released keys (``nn.DataParallel`` prefix ``module.``; spec §2.7) beyond TS-CAM's:
``tfcm.conv3x3_1.*`` -> the TFCM neck's ``conv.*``; ``layers.<i>.thred`` -> the SSFM neck's
``layers.<i>.threshold``; ``layers.<i>.<fusion>._loss_rate`` -> ``layers.<i>.fusion_weight``
(``ssfm`` in LCA-MD, ``fuse`` in SCM). The neck indices are those of the configs
(``configs/_base_/models/lca_md_*.py``: ``neck=[TFCM, SSFM]``; ``scm_deit_s.py``:
``neck=SSFM``). The TFCM layers the released forward never uses (``tfcm.conv3x3.*``,
``tfcm.bn_head.*``) are dropped and reported.
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from .conversion_error import ConversionError
from .tscam import convert_tscam

# Defined in the released TFCM but never called in its forward (spec §2.2).
UNUSED_PREFIXES = ('tfcm.conv3x3.', 'tfcm.bn_head.')
# wsol_mm key prefixes of the necks, in the configs' order.
LCA_MD_NECKS = dict(tfcm='neck.0.', ssfm='neck.1.')
SCM_NECKS = dict(ssfm='neck.0.')


def convert_lca_md(state: Dict[str, torch.Tensor], fusion_name: str = 'ssfm',
                   with_tfcm: bool = True, backbone: str = 'deit',
                   ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Rename released LCA-MD (or SCM) keys to wsol_mm's.

    Args:
        state (dict): released state dict (``module.`` prefix optional).
        fusion_name (str): the released attribute holding ``_loss_rate`` inside
            each diffusion layer (``ssfm`` in LCA-MD, ``fuse`` in SCM).
        with_tfcm (bool): expect TFCM keys (LCA-MD).
        backbone (str): ``'deit'`` or ``'conformer'`` (see :func:`convert_tscam`).

    Returns:
        tuple: the wsol_mm state dict and the dropped (unused) released keys.
    """
    necks = LCA_MD_NECKS if with_tfcm else SCM_NECKS
    layer_key = re.compile(rf'^layers\.(\d+)\.(thred|{re.escape(fusion_name)}\._loss_rate)$')
    plain, out, dropped = OrderedDict(), OrderedDict(), []
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        match = layer_key.match(key)
        if match:
            name = 'threshold' if match.group(2) == 'thred' else 'fusion_weight'
            out[f'{necks["ssfm"]}layers.{match.group(1)}.{name}'] = value.reshape(1)
        elif with_tfcm and key.startswith(UNUSED_PREFIXES):
            dropped.append(key)
        elif key.startswith(('layers.', 'tfcm.')) and not (with_tfcm
                                                          and key.startswith('tfcm.conv3x3_1.')):
            raise ConversionError(f'unexpected released key "{key}": not an SSFM/TFCM parameter '
                           'this converter knows')
        else:
            plain[key] = value
    extra = (('tfcm.conv3x3_1.', f'{necks["tfcm"]}conv.'), ) if with_tfcm else ()
    out.update(convert_tscam(plain, backbone, extra_keys=extra))
    return out, dropped


def convert_scm(state: Dict[str, torch.Tensor], backbone: str = 'deit'
                ) -> 'OrderedDict[str, torch.Tensor]':
    """Rename released SCM keys (diffusion layers ``layers.<i>.fuse``, no TFCM)."""
    return convert_lca_md(state, fusion_name='fuse', with_tfcm=False, backbone=backbone)[0]
