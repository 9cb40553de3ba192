"""The one checkpoint loader of wsol_mm: ``torch.load(weights_only=True)`` plus an allow-list.

Every checkpoint read in wsol_mm goes through :func:`load_checkpoint_file`: ``--resume``,
``load_from``, ``tools/test.py``, :func:`wsol_mm.apis.init_localizer`, pretrained backbone
weights and the model converters (mmengine's loaders are routed here by
:mod:`wsol_mm.compat`). Unpickling can run arbitrary code, so only tensors, plain Python
values and exactly the extra types that mmengine checkpoints carry are accepted
(:func:`checkpoint_safe_globals`). A file that needs more is refused with one message that
names it; a user who trusts the file lists it in the environment variable
``WSOL_MM_TRUSTED_CHECKPOINTS`` (see ``docs/reliability.md``).
"""
import contextlib
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, BinaryIO, Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

from wsol_mm.utils.checkpoint_error import CheckpointError
from wsol_mm.utils.missing_file_error import MissingFileError

__all__ = ['TRUST_ENV', 'checkpoint_safe_globals', 'is_trusted_checkpoint',
           'load_checkpoint_file']

TRUST_ENV = 'WSOL_MM_TRUSTED_CHECKPOINTS'
_NUMERIC_DTYPES = (
    'BoolDType', 'Int8DType', 'Int16DType', 'Int32DType', 'Int64DType', 'UInt8DType',
    'UInt16DType', 'UInt32DType', 'UInt64DType', 'ByteDType', 'UByteDType', 'ShortDType',
    'UShortDType', 'IntDType', 'UIntDType', 'LongDType', 'ULongDType', 'LongLongDType',
    'ULongLongDType', 'Float16DType', 'Float32DType', 'Float64DType', 'LongDoubleDType',
    'Complex64DType', 'Complex128DType', 'CLongDoubleDType')


def _history_buffer_attribute(owner: type, name: str) -> Callable:
    """``getattr`` as mmengine's pickles use it: only ``HistoryBuffer``'s statistics methods.

    ``MessageHub`` pickles each ``HistoryBuffer`` with its statistics methods, written as
    ``getattr(HistoryBuffer, 'mean')``; a general ``getattr`` would reach any attribute.
    """
    if owner is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(owner, name)
    raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not allowed in a checkpoint')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The allow-list: the non-tensor types that wsol_mm's (mmengine's) checkpoints carry.

    ``message_hub`` holds ``HistoryBuffer`` objects (numpy arrays of the logged values) and
    numpy scalars (e.g. ``eta``); nothing else beyond torch's defaults (tensors, dicts,
    lists, numbers, strings) is needed to resume.

    Returns:
        list: entries for ``torch.serialization.safe_globals``.
    """
    from numpy._core import multiarray  # numpy >= 2; pickles of numpy 1 name numpy.core
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer, np.ndarray, np.dtype,
        (_history_buffer_attribute, 'builtins.getattr'),
        bytes,  # the data of an empty array (an unused HistoryBuffer) pickles as bytes()
    ]
    for core in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        entries += [(multiarray._reconstruct, f'{core}._reconstruct'),
                    (multiarray.scalar, f'{core}.scalar')]
    entries += [getattr(np.dtypes, name) for name in _NUMERIC_DTYPES if hasattr(np.dtypes, name)]
    return entries


@contextlib.contextmanager
def _allow_checkpoint_globals() -> Iterator[None]:
    # Added for this load only; entries the user registered themselves are left alone.
    registered = set(torch.serialization.get_safe_globals())
    extra = [g for g in checkpoint_safe_globals() if g not in registered]
    with torch.serialization.safe_globals(extra):
        yield


def is_trusted_checkpoint(source: str) -> bool:
    """Whether the user listed ``source`` in ``WSOL_MM_TRUSTED_CHECKPOINTS``.

    Args:
        source (str): a local path (compared after resolving links) or a URL (compared as
            written).

    Returns:
        bool: True if full unpickling of this one file is allowed.
    """
    listed = [p for p in os.environ.get(TRUST_ENV, '').split(os.pathsep) if p.strip()]
    if source in listed:
        return True
    if '://' in source:
        return False
    real = osp.realpath(osp.expanduser(source))
    return any('://' not in p and osp.realpath(osp.expanduser(p)) == real for p in listed)


def _opt_in(name: str) -> str:
    """The setting that lets the user load ``name`` with full unpickling."""
    return f'{TRUST_ENV}={name if "://" in name else osp.abspath(name)}'


def _untrusted_message(name: str, unsafe: List[str]) -> str:
    return (f'checkpoint {name} is not a plain weights file: loading it needs full unpickling '
            f'(of {", ".join(unsafe)}), which can run arbitrary code, so it was not loaded. '
            f'Only if you trust this file, allow it explicitly: {_opt_in(name)} (several '
            f'files separated by "{os.pathsep}"); see docs/reliability.md')


def _check_header(name: str, head: bytes) -> None:
    if not head:
        raise CheckpointError(f'checkpoint {name} is empty (0 bytes; an interrupted write or '
                              'copy?): use an earlier checkpoint or copy the file again')
    if not head.startswith(b'PK\x03\x04') and not head.startswith(b'\x80'):
        raise CheckpointError(f'{name} is not a PyTorch checkpoint (it starts with '
                              f'{head[:16]!r}); pass a .pth file written by torch.save')


def _unsafe_globals(fileobj: Union[str, BinaryIO]) -> List[str]:
    allowed = set()
    for entry in checkpoint_safe_globals():
        fn, path = entry if isinstance(entry, tuple) else (entry, None)
        allowed.add(path or f'{fn.__module__}.{fn.__qualname__}')
    try:
        found = torch.serialization.get_unsafe_globals_in_checkpoint(fileobj)
    except (ValueError, RuntimeError, pickle.UnpicklingError):  # legacy (non-zip) format
        return []
    return [g for g in found if g not in allowed]


def load_checkpoint_file(source: Union[str, BinaryIO], map_location: Any = 'cpu',
                         name: Optional[str] = None) -> Any:
    """Load a checkpoint without running code from it; errors name the file.

    Args:
        source (str | BinaryIO): a local path, or an open binary file (remote loaders).
        map_location: as in :func:`torch.load`. Defaults to 'cpu'.
        name (str, optional): what to call the file in messages and to look up in
            ``WSOL_MM_TRUSTED_CHECKPOINTS`` (a URL for downloaded files). Defaults to the path.

    Returns:
        Any: the loaded object (usually a dict).

    Raises:
        MissingFileError: no such file.
        CheckpointError: empty, truncated or corrupt file, not a checkpoint, or a file that
            needs full unpickling and is not listed as trusted.
    """
    if isinstance(source, str):
        source = osp.expanduser(source)
        name = name or source
        if not osp.isfile(source):
            raise MissingFileError(f'checkpoint {name} not found')
        with open(source, 'rb') as f:
            head = f.read(16)
    else:
        name = name or getattr(source, 'name', '<stream>')
        head = source.read(16)
        source.seek(0)
    _check_header(name, head)
    if is_trusted_checkpoint(name) or (isinstance(source, str) and is_trusted_checkpoint(source)):
        print_log(f'{name}: listed in {TRUST_ENV}, loading it with full unpickling',
                  logger='current')
        return torch.load(source, map_location=map_location, weights_only=False)
    try:
        with _allow_checkpoint_globals():
            return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if not isinstance(source, str):
            source.seek(0)
        # Zip checkpoints can be scanned; for legacy ones torch's message names the global.
        unsafe = _unsafe_globals(source) or re.findall(r'GLOBAL (\S+)', str(err))[:1]
        if unsafe:
            raise CheckpointError(_untrusted_message(name, unsafe)) from None
        found = re.search(r'WeightsUnpickler error:\s*(.+)', str(err))
        reason = (found[1] if found else str(err).strip().splitlines()[-1])[:200]
        raise CheckpointError(
            f'checkpoint {name} cannot be read safely ({reason}): it is corrupt or was not '
            f'written by torch.save. Only if you trust this file: {_opt_in(name)}') from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, io.UnsupportedOperation) as err:
        text = str(err)
        if isinstance(err, RuntimeError) and 'PytorchStreamReader' not in text \
                and 'zip' not in text.lower():
            raise  # e.g. a CUDA map_location on a CPU machine: not about the file
        detail = text.split('. ')[0].splitlines()[0] if text else type(err).__name__
        raise CheckpointError(
            f'checkpoint {name} is truncated or corrupt ({detail}); it was probably written or '
            'copied only in part: use an earlier checkpoint or copy it again') from None
