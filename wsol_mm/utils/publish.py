"""Release form of a checkpoint (``tools/model_converters/publish_model.py``)."""
import datetime
import hashlib
import os
import os.path as osp
from typing import Any

import torch

__all__ = ['publish_checkpoint']


def _plain(value: Any) -> Any:
    """Metadata as builtins only (numpy scalars and other objects become str/numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, 'item') and getattr(value, 'ndim', 1) == 0:
        return value.item()
    return str(value)


def publish_checkpoint(in_file: str, out_file: str, keep_ema: bool = False) -> str:
    """Write ``{out stem}_{YYYYMMDD}-{sha256[:8]}.pth`` with weights and plain metadata.

    Args:
        in_file (str): a checkpoint of ``tools/train.py`` (loaded as a trusted file).
        out_file (str): output path; the date and hash are inserted before ``.pth``.
        keep_ema (bool): keep ``ema_state_dict``. Defaults to False.

    Returns:
        str: the final path.
    """
    from mmengine.runner.checkpoint import _load_checkpoint
    if not osp.isfile(in_file):
        raise FileNotFoundError(f'checkpoint {in_file} not found')
    if not out_file.endswith('.pth'):
        raise ValueError(f'out_file {out_file} must end with .pth')
    ckpt = _load_checkpoint(in_file, map_location='cpu')
    if not isinstance(ckpt, dict) or 'state_dict' not in ckpt:
        raise ValueError(f'{in_file} has no state_dict: not a checkpoint of tools/train.py')
    out = dict(state_dict=ckpt['state_dict'], meta=_plain(ckpt.get('meta', {})))
    if keep_ema and 'ema_state_dict' in ckpt:
        out['ema_state_dict'] = ckpt['ema_state_dict']
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    tmp = f'{out_file}.tmp-{os.getpid()}'
    torch.save(out, tmp)
    with open(tmp, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    final = f'{out_file[:-4]}_{datetime.date.today():%Y%m%d}-{sha[:8]}.pth'
    os.replace(tmp, final)
    return final
