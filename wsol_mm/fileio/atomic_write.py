"""The one atomic writer of wsol_mm: a temporary sibling renamed over the target.

Readers never see a half-written file: the data goes to ``.tmp-<pid>@<host>-<token>`` in the
target's folder and ``os.replace`` moves it into place only once it is complete. A process
killed half-way (SIGKILL, power loss) leaves such a temporary file behind; the next write into
the same folder deletes it once its writer is known to be gone (:func:`clean_stale_temps`).
"""
import contextlib
import json
import os
import os.path as osp
import re
import secrets
import shutil
import socket
import time
from typing import IO, Iterator, Optional, Set

__all__ = [
    'atomic_open', 'atomic_write_bytes', 'atomic_write_text', 'atomic_write_json',
    'temp_sibling', 'clean_stale_temps', 'STALE_TEMP_AGE_S'
]

# A temporary entry of another host (or of an older wsol_mm, whose names carry no pid) is only
# removed when it is this old: no single write takes an hour.
STALE_TEMP_AGE_S = 3600.0
_HOST = re.sub(r'[^A-Za-z0-9_.]', '_', socket.gethostname()) or 'host'
# `<prefix>.tmp-<pid>@<host>-<token>`; `<prefix>` is empty for files (hidden temp files) and
# the target's name for directories (the SyntheticWSOL generator).
_TEMP_RE = re.compile(r'\.tmp-(?P<pid>\d+)@(?P<host>[A-Za-z0-9_.]+)-[0-9a-f]{8}$')
_LEGACY_TEMP_RE = re.compile(r'\.tmp-(?:[A-Za-z0-9_]{8}|\d+)$')  # mkstemp / `.tmp-<pid>` names
_cleaned: Set[str] = set()


def temp_sibling(path: str, hidden: bool = True) -> str:
    """A fresh temporary name next to ``path`` that :func:`clean_stale_temps` recognises.

    Args:
        path (str): the final path.
        hidden (bool): ``.tmp-...`` in the same folder (files); otherwise
            ``<path>.tmp-...`` (whole directories written then renamed). Defaults to True.

    Returns:
        str: the temporary path (not created).
    """
    tag = f'.tmp-{os.getpid()}@{_HOST}-{secrets.token_hex(4)}'
    if hidden:
        return osp.join(osp.dirname(osp.abspath(path)), tag)
    return osp.abspath(path) + tag


def _writer_gone(pid: int, host: str, age_s: float) -> bool:
    if host != _HOST:
        return age_s > STALE_TEMP_AGE_S  # cannot ask another host whether its writer lives
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def clean_stale_temps(folder: str, prefix: str = '', force: bool = False) -> int:
    """Delete temporary files/dirs left in ``folder`` by writers that were killed.

    A temporary entry is removed when its writer process is gone (same host), or, for
    entries of another host or of older wsol_mm versions, when it is older than
    :data:`STALE_TEMP_AGE_S`. Each folder is scanned once per process unless ``force``.

    Args:
        folder (str): the folder to clean.
        prefix (str): only entries named ``<prefix>.tmp-...``. Defaults to '' (hidden
            temporary files of :func:`atomic_open`).
        force (bool): scan even if this process scanned the folder before.

    Returns:
        int: the number of entries removed.
    """
    folder = osp.abspath(folder)
    key = f'{folder}\0{prefix}'
    if (key in _cleaned and not force) or not osp.isdir(folder):
        return 0
    _cleaned.add(key)
    removed = 0
    for entry in os.listdir(folder):
        if not entry.startswith(prefix + '.tmp-'):
            continue
        rest = entry[len(prefix):]
        path = osp.join(folder, entry)
        try:
            age = time.time() - os.lstat(path).st_mtime
        except FileNotFoundError:
            continue
        match = _TEMP_RE.match(rest)
        if match:
            stale = _writer_gone(int(match['pid']), match['host'], age)
        else:
            stale = bool(_LEGACY_TEMP_RE.match(rest)) and age > STALE_TEMP_AGE_S
        if not stale:
            continue
        if osp.isdir(path) and not osp.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        removed += 1
    return removed


@contextlib.contextmanager
def atomic_open(path: str, mode: str = 'wb', fsync: bool = True,
                encoding: Optional[str] = None) -> Iterator[IO]:
    """Open ``path`` for writing so that it appears complete or not at all.

    The file is created with the usual permissions (umask), written under a temporary
    name and renamed over ``path`` when the ``with`` block ends without an exception;
    on an exception the temporary file is removed and ``path`` keeps its old content.

    Args:
        path (str): the final path; missing parent folders are created.
        mode (str): ``'wb'`` or ``'w'``. Defaults to 'wb'.
        fsync (bool): flush to disk before the rename (checkpoints: a crash of the
            machine cannot leave an empty file under the final name). Defaults to True.
        encoding (str, optional): text encoding for ``'w'``. Defaults to UTF-8.

    Yields:
        IO: the open temporary file.

    Examples:
        >>> import json, os, tempfile
        >>> out = os.path.join(tempfile.mkdtemp(), 'metrics.json')
        >>> with atomic_open(out, 'w') as f:
        ...     json.dump({'top1': 1.0}, f)
        >>> json.load(open(out))
        {'top1': 1.0}
    """
    if mode not in ('wb', 'w'):
        raise ValueError(f'atomic_open writes whole files: mode must be "wb" or "w", got {mode!r}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    clean_stale_temps(folder)
    tmp = temp_sibling(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(fd, mode, encoding=None if 'b' in mode else (encoding or 'utf-8')) as f:
            yield f
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path: str, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'wb', fsync=fsync) as f:
        f.write(data)


def atomic_write_text(path: str, text: str, encoding: str = 'utf-8', fsync: bool = True) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'w', fsync=fsync, encoding=encoding) as f:
        f.write(text)


def atomic_write_json(path: str, obj, indent: int = 2) -> None:
    """Dump ``obj`` as JSON to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, indent=indent)
        f.write('\n')
