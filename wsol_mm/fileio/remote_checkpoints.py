"""Checkpoint loaders for mmengine's remote schemes, all ending in :func:`load_checkpoint_file`.

mmengine 0.10's own loaders call ``torch.load`` without ``weights_only``; :mod:`wsol_mm.compat`
registers these in their place so a downloaded file is never fully unpickled unless the user
listed it in ``WSOL_MM_TRUSTED_CHECKPOINTS``.
"""
import io
import os
import os.path as osp
import tempfile
from typing import Any, Optional
from urllib.parse import urlparse

import torch
from mmengine.dist import barrier, get_dist_info
from mmengine.fileio import get_file_backend

from .checkpoint_io import load_checkpoint_file

__all__ = ['load_from_local', 'load_from_http', 'load_from_ceph', 'load_from_pavi',
           'load_from_openmmlab']


def load_from_local(filename: str, map_location: Any = None) -> Any:
    """Scheme ``''``: a local file."""
    return load_checkpoint_file(filename, map_location)


def _download(url: str, model_dir: Optional[str], progress: bool) -> str:
    folder = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    os.makedirs(folder, exist_ok=True)
    cached = osp.join(folder, osp.basename(urlparse(url).path) or 'checkpoint.pth')
    if not osp.isfile(cached):
        # torch writes to a temporary file and renames it: no half file under `cached`.
        torch.hub.download_url_to_file(url, cached, progress=progress)
    return cached


def load_from_http(filename: str, map_location: Any = None, model_dir: Optional[str] = None,
                   progress: bool = False) -> Any:
    """Schemes ``http://`` and ``https://`` (also behind ``torchvision://``, ``mmcls://`` ...).

    The file is downloaded once into torch's hub cache (rank 0 first under DDP) and loaded
    with :func:`load_checkpoint_file`; ``WSOL_MM_TRUSTED_CHECKPOINTS`` matches the URL.
    """
    rank, world_size = get_dist_info()
    if rank == 0:
        cached = _download(filename, model_dir, progress)
    if world_size > 1:
        barrier()
        if rank > 0:
            cached = _download(filename, model_dir, progress)
    return load_checkpoint_file(cached, map_location, name=filename)


def load_from_ceph(filename: str, map_location: Any = None, backend: str = 'petrel') -> Any:
    """Schemes ``s3://`` and ``petrel://`` (read through mmengine's file backend)."""
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    with io.BytesIO(data) as buffer:
        return load_checkpoint_file(buffer, map_location, name=filename)


def load_from_pavi(filename: str, map_location: Any = None) -> Any:
    """Scheme ``pavi://`` (the pavi model cloud; needs the ``pavi`` package)."""
    try:
        from pavi import modelcloud
    except ImportError:
        raise ImportError(f'{filename}: install pavi to load checkpoints from its model '
                          'cloud') from None
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = osp.join(tmp_dir, model.name)
        model.download(local)
        return load_checkpoint_file(local, map_location, name=filename)


def load_from_openmmlab(filename: str, map_location: Any = None) -> Any:
    """Schemes ``open-mmlab://`` and ``openmmlab://`` (names of mmengine's model zoo list)."""
    from mmengine.runner import checkpoint as mm_checkpoint
    name = filename.split('://', 1)[1]
    name = mm_checkpoint.get_deprecated_model_names().get(name, name)
    url = mm_checkpoint.get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http(url, map_location)
    local = osp.join(mm_checkpoint._get_mmengine_home(), url)
    return load_checkpoint_file(local, map_location, name=filename)
