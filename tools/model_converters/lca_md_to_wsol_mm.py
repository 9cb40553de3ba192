"""Convert a released LCA-MD checkpoint (DeiT / ViT) to a wsol_mm ``LCAMD`` state dict.

Usage:
    python tools/model_converters/lca_md_to_wsol_mm.py SRC.pth DST.pth

Released keys (``nn.DataParallel`` prefix ``module.``; spec §2.7) beyond TS-CAM's:
``tfcm.conv3x3_1.*`` -> ``tfcm.conv.*``; ``layers.<i>.thred`` -> ``ssfm.layers.<i>.threshold``;
``layers.<i>.ssfm._loss_rate`` -> ``ssfm.layers.<i>.fusion_weight``. The TFCM layers the
released forward never uses (``tfcm.conv3x3.*``, ``tfcm.bn_head.*``) are dropped and
reported. Backbone and ``head.*`` keys follow ``tscam_to_wsol_mm.py``. SCM's converter
reuses this file with the module name ``fuse`` and no TFCM.
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))  # the sibling converters
import tscam_to_wsol_mm as tscam  # noqa: E402

# Defined in the released TFCM but never called in its forward (spec §2.2).
UNUSED_PREFIXES = ('tfcm.conv3x3.', 'tfcm.bn_head.')
TFCM_RULES = (('tfcm.conv3x3_1.', 'tfcm.conv.'), )


def convert(state: Dict[str, torch.Tensor], fusion_name: str = 'ssfm',
            with_tfcm: bool = True, backbone: str = 'deit',
            ) -> Tuple['OrderedDict[str, torch.Tensor]', List[str]]:
    """Rename released LCA-MD (or SCM) keys to wsol_mm's.

    Args:
        state (dict): released state dict (``module.`` prefix optional).
        fusion_name (str): the released attribute holding ``_loss_rate`` inside
            each diffusion layer (``ssfm`` in LCA-MD, ``fuse`` in SCM).
        with_tfcm (bool): expect TFCM keys (LCA-MD).
        backbone (str): ``'deit'`` or ``'conformer'`` (see the TS-CAM converter).

    Returns:
        tuple: the wsol_mm state dict and the dropped (unused) released keys.
    """
    layer_key = re.compile(rf'^layers\.(\d+)\.(thred|{re.escape(fusion_name)}\._loss_rate)$')
    plain, out, dropped = OrderedDict(), OrderedDict(), []
    for key, value in state.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        match = layer_key.match(key)
        if match:
            name = 'threshold' if match.group(2) == 'thred' else 'fusion_weight'
            out[f'ssfm.layers.{match.group(1)}.{name}'] = value.reshape(1)  # scalar -> (1,)
        elif with_tfcm and key.startswith(UNUSED_PREFIXES):
            dropped.append(key)
        elif key.startswith(('layers.', 'tfcm.')) and not (with_tfcm
                                                          and key.startswith('tfcm.conv3x3_1.')):
            raise KeyError(f'unexpected released key "{key}": not an SSFM/TFCM parameter '
                           'this converter knows')
        else:
            plain[key] = value
    extra = TFCM_RULES if with_tfcm else ()
    out.update(tscam.convert(plain, backbone, extra_keys=extra))
    return out, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='released LCA-MD checkpoint')
    parser.add_argument('dst', help='output wsol_mm checkpoint')
    args = parser.parse_args()
    state, dropped = convert(tscam.load_released(args.src))
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src)), args.dst)
    print(f'wrote {len(state)} tensors to {args.dst}; dropped unused {dropped}')


if __name__ == '__main__':
    main()
