"""``--amp``: which mixed-precision optimizer wrapper a run gets on this machine."""
from typing import List, Optional

import torch
from mmengine.config import ConfigDict

from wsol_mm.utils import UserError

#: Wrapper types ``--amp`` may replace (a custom wrapper keeps its own precision logic).
AMP_REPLACEABLE = ('OptimWrapper', 'AmpOptimWrapper', 'AutocastOptimWrapper')


#: bfloat16 units of x86 CPUs and torch's (private) checks for them
_BF16_UNITS = (('AVX-512-BF16', '_is_avx512_bf16_supported'), ('AMX', '_is_amx_tile_supported'))


def cpu_bf16_units() -> List[str]:
    """The bfloat16 units of this CPU, of ``'AVX-512-BF16'`` and ``'AMX'`` (AMD's Zen 4 and
    Zen 5 and Intel's Cooper Lake have the first only, Sapphire Rapids and later both);
    empty when torch does not report them."""
    cpu = getattr(torch, 'cpu', None)
    return [name for name, check in _BF16_UNITS if bool(getattr(cpu, check, lambda: False)())]


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX-512-BF16 or AMX tiles).

    Without them bfloat16 autocast still works but is emulated, usually slower than
    float32.
    """
    return bool(cpu_bf16_units())


def bf16_note(device_type: str) -> Optional[str]:
    """A warning when bfloat16 on ``device_type`` is emulated (slow), else None."""
    if device_type == 'cpu' and not cpu_has_bf16():
        return ('--amp: this CPU has neither AVX-512-BF16 nor AMX; bfloat16 autocast is '
                'emulated and usually slower than float32 training (drop --amp)')
    return None


def amp_optim_wrapper(optim_wrapper: ConfigDict, device_type: str) -> ConfigDict:
    """The ``optim_wrapper`` config of ``--amp`` for a run on ``device_type``.

    bfloat16 autocast (:class:`AutocastOptimWrapper`) on CPUs and on GPUs that support
    bfloat16; float16 with dynamic loss scaling (mmengine's ``AmpOptimWrapper``) on
    older GPUs. The optimizer, constructor and ``paramwise_cfg`` are kept.

    Args:
        optim_wrapper (ConfigDict): the config's ``optim_wrapper`` (modified in place).
        device_type (str): ``'cpu'`` or ``'cuda'`` (where the run trains).

    Raises:
        UserError: the config uses another wrapper type.
    """
    wrapper = optim_wrapper.get('type', 'OptimWrapper')
    if wrapper not in AMP_REPLACEABLE:
        raise UserError(f'--amp replaces optim_wrapper.type OptimWrapper, got {wrapper}; '
                        'drop --amp or set the precision in that wrapper')
    optim_wrapper.pop('loss_scale', None)
    optim_wrapper.pop('dtype', None)
    if device_type == 'cuda' and not torch.cuda.is_bf16_supported():
        optim_wrapper.update(type='AmpOptimWrapper', loss_scale='dynamic', dtype='float16')
    else:
        optim_wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16')
    return optim_wrapper
