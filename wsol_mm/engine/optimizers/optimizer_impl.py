"""Choice of the torch optimizer implementation (shared by the wsol_mm constructors)."""
import inspect
from typing import Iterable, Union

import torch

from wsol_mm.registry import OPTIMIZERS

#: Devices whose parameters torch's fused optimizer kernels accept (also on CPU since 2.4).
FUSED_DEVICES = ('cpu', 'cuda')


def optimizer_class(type_: Union[str, type]) -> type:
    if not isinstance(type_, str):
        return type_
    with OPTIMIZERS.switch_scope_and_registry(None) as registry:
        return registry.get(type_)


def prefer_fused(optimizer_cfg: dict, params: Iterable[torch.Tensor]) -> dict:
    """``optimizer_cfg`` with ``fused=True`` where that is safe, otherwise unchanged.

    torch's fused SGD / Adam / AdamW update every parameter of a group in one kernel
    instead of ~6 per parameter (the default on CPU is a Python loop over the
    parameters). The update is the same formula: SGD is bitwise equal, Adam(W) may
    differ in the last bit of a parameter. Used only when the config sets neither
    ``fused`` nor ``foreach`` (``fused=False`` restores torch's default), the optimizer
    class takes ``fused`` and every parameter is a floating tensor on CPU or CUDA.

    Args:
        optimizer_cfg (dict): ``dict(type=..., lr=..., ...)`` (not modified).
        params (Iterable[Tensor]): the parameters the optimizer will hold.
    """
    cfg = dict(optimizer_cfg)
    if 'fused' in cfg or 'foreach' in cfg:
        return cfg
    cls = optimizer_class(cfg['type'])
    if 'fused' not in inspect.signature(cls).parameters:
        return cfg
    params = list(params)
    if params and all(p.is_floating_point() and p.device.type in FUSED_DEVICES
                      for p in params):
        cfg['fused'] = True
    return cfg
