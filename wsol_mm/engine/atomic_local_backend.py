"""A local file backend whose writes are atomic (the package's one atomic writer)."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from wsol_mm.fileio import atomic_write_bytes, atomic_write_text


@register_backend('atomic_local')
class AtomicLocalBackend(LocalBackend):
    """Local backend for checkpoints: a file is replaced whole or not at all.

    A run killed while saving leaves the previous file intact instead of a truncated one,
    so ``--resume`` always finds a loadable checkpoint; the temporary file of a killed
    write is removed by the next write into the folder
    (:func:`wsol_mm.fileio.clean_stale_temps`). Select it with
    ``backend_args=dict(backend='atomic_local')`` on ``CheckpointHook``.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes atomically (flushed to disk before the rename)."""
        atomic_write_bytes(str(filepath), obj)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        """Write text atomically (flushed to disk before the rename)."""
        atomic_write_text(str(filepath), obj, encoding=encoding)
