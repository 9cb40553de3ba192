"""A local file backend whose writes are atomic (temp file + ``os.replace``)."""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local backend for checkpoints and ``last_checkpoint``.

    A run killed while saving leaves the previous file intact instead of a
    truncated one, so ``--resume`` always finds a loadable checkpoint. Select
    it with ``backend_args=dict(backend='atomic_local')`` on ``CheckpointHook``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes atomically."""
        _atomic_write(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text atomically."""
        _atomic_write(str(filepath), obj.encode(encoding))


def _atomic_write(path: str, data: bytes) -> None:
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
