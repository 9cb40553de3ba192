"""glibc malloc settings for training on CPU (``env_cfg.cpu_malloc``).

PyTorch's CPU tensors come from ``malloc``. With glibc's defaults, a step's large
activation buffers are given back to the kernel when they are freed: chunks above the
mmap threshold are unmapped, and free memory above the trim threshold at the top of the
heap is returned. The next step allocates them again, and every one of their pages faults
and is zeroed once more. The largest mmap threshold glibc takes (32 MiB) and no trimming
(``trim_threshold=-1``, glibc's documented way to turn it off) keep that memory in the
process. A top pad makes the heap grow in big steps. ``benchmarks/cpu_malloc.py``
measures the effect, with each setting in its own process.

The process keeps its peak heap after a step instead of returning it, which is what a
training loop reuses anyway, but a heap that is never trimmed can also keep pages that a
trimmed one would have given back between steps. The trade depends on the machine and the
step: on a Xeon guest, where the faults cost more, crop consistency ran 1.05-1.22x faster,
with peak memory -1 to +6 % (ResNet50), the same (InceptionV3) or +8-15 % (VGG16); on an
AMD Zen 4 guest 1.07x with +1.5-3.3 % (ResNet50), 1.04x with +11 % (VGG16) and 0.94x
(InceptionV3). Issue 14 asks for no more peak memory, so it is off by default
(``enable=False`` in ``configs/_base_/default_runtime.py``) and on for the DeiT / ViT
method configs (``configs/_base_/transformer_runtime.py``: their steps ran 1.06x with the
same peak memory) and crop consistency ResNet50 on CUB (``configs/crop/resnet50_cub.py``,
whose process still peaks below the released step's).
The settings are process-wide, so they are applied once, when the runner sets up its
environment, and only when the run is on the CPU.
"""
import ctypes
import os
from typing import Dict, Optional

from ..malloc_preload import ALLOCATORS
from .user_error import UserError

# mallopt parameters of glibc's <malloc.h>
_PARAMS = dict(trim_threshold=-1, top_pad=-2, mmap_threshold=-3)
# mallopt takes a C int; glibc refuses mmap thresholds above HEAP_MAX_SIZE / 2 (64-bit)
_INT_MAX = 2**31 - 1
_MMAP_THRESHOLD_MAX = 32 * 1024**2
# the user's own allocator choices, which win over the config
_ENV_VARS = ('MALLOC_TRIM_THRESHOLD_', 'MALLOC_TOP_PAD_', 'MALLOC_MMAP_THRESHOLD_',
             'MALLOC_MMAP_MAX_')


def check_cpu_malloc_cfg(cfg: Optional[dict]) -> Dict[str, int]:
    """Validate the settings; ``{}`` when they are off (``None``, empty, ``enable=False``).

    Args:
        cfg (dict, optional): ``enable`` (bool, default True) and any of
            ``mmap_threshold`` (bytes, at most 32 MiB), ``trim_threshold`` and ``top_pad``
            (bytes, below 2 GiB: mallopt takes a C int); ``trim_threshold=-1`` turns
            trimming off.

    Raises:
        UserError: an unknown key, or a value that is not an int in range.
    """
    key = 'env_cfg.cpu_malloc'
    if not cfg:
        return {}
    if not isinstance(cfg, dict):
        raise UserError(f'config key `{key}` must be a dict of enable, {", ".join(_PARAMS)} '
                        f'(bytes) or None, got {cfg!r}')
    unknown = sorted(set(cfg) - set(_PARAMS) - {'enable'})
    if unknown:
        raise UserError(f'config key `{key}` has unknown keys {unknown}: the settings are '
                        f'enable, {", ".join(_PARAMS)} (bytes)')
    enable = cfg.get('enable', True)
    if not isinstance(enable, bool):
        raise UserError(f'config key `{key}.enable` must be True or False, got {enable!r}')
    out = {}
    for name, value in cfg.items():
        if name == 'enable':
            continue
        limit = _MMAP_THRESHOLD_MAX if name == 'mmap_threshold' else _INT_MAX
        lowest = -1 if name == 'trim_threshold' else 0
        if (isinstance(value, bool) or not isinstance(value, int)
                or not lowest <= value <= limit):
            off = ' or -1 (never trim)' if lowest else ''
            raise UserError(f'config key `{key}.{name}` must be an int of bytes between 0 and '
                            f'{limit} (glibc\'s limit){off}, got {value!r}')
        out[name] = value
    return out if enable else {}


def _running_glibc() -> bool:
    """Whether this process runs on glibc (the C library it loaded, not the one on disk)."""
    try:
        return (os.confstr('CS_GNU_LIBC_VERSION') or '').startswith('glibc')
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name (musl, macOS)
        return False


def _skip_reason(environ: Dict[str, str]) -> str:
    """Why the settings cannot or should not be applied here ('' when they can)."""
    if not _running_glibc():
        return 'not a glibc system'
    preload = environ.get('LD_PRELOAD', '')
    for name in ALLOCATORS:
        if name in preload:
            return f'{name} is preloaded (LD_PRELOAD)'
    given = [v for v in _ENV_VARS if v in environ]
    if 'glibc.malloc' in environ.get('GLIBC_TUNABLES', ''):
        given.append('GLIBC_TUNABLES')
    if given:
        return f'the environment sets {", ".join(given)}'
    return ''


def apply_cpu_malloc(cfg: Optional[dict], on_cpu: bool,
                     environ: Optional[Dict[str, str]] = None) -> str:
    """Apply the settings with ``mallopt`` and say in one line what was done.

    Args:
        cfg (dict, optional): ``env_cfg.cpu_malloc`` (see :func:`check_cpu_malloc_cfg`).
        on_cpu (bool): the run trains on the CPU; nothing is applied otherwise.
        environ (dict, optional): the environment to read (default ``os.environ``).

    Returns:
        str: ``''`` when the settings are off or the run is not on the CPU; otherwise
        the settings applied, or why they were not.
    """
    settings = check_cpu_malloc_cfg(cfg)
    if not settings or not on_cpu:
        return ''
    reason = _skip_reason(os.environ if environ is None else environ)
    if reason:
        return f'glibc malloc settings not applied: {reason}'
    mallopt = ctypes.CDLL(None).mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    failed = [name for name, value in settings.items() if mallopt(_PARAMS[name], value) != 1]
    if failed:  # in range, so only a libc that refuses them
        return (f'glibc malloc: mallopt refused {", ".join(failed)} (the other settings are '
                'applied)')
    return 'glibc malloc: ' + ', '.join(
        'no trimming' if value < 0 else f'{name.replace("_", " ")} {value / 1024**2:g} MiB'
        for name, value in settings.items())
