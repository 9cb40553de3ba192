"""Checkpoints and last_checkpoint are replaced atomically: a failed write keeps the old file."""
import os

import pytest
from mmengine.fileio import get_file_backend

import wsol_mm.engine  # noqa: F401  (registers the backend)


def test_put_replaces_whole_file(tmp_path):
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='atomic_local'))
    path = tmp_path / 'epoch_1.pth'
    backend.put(b'old', str(path))
    backend.put(b'new-bytes', str(path))
    backend.put_text('epoch_1.pth', str(tmp_path / 'last_checkpoint'))
    assert path.read_bytes() == b'new-bytes'
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth', 'last_checkpoint']


def test_interrupted_write_keeps_previous_file(tmp_path, monkeypatch):
    backend = get_file_backend(str(tmp_path), backend_args=dict(backend='atomic_local'))
    path = tmp_path / 'last_checkpoint'
    backend.put_text('epoch_1.pth', str(path))

    def killed(fd):  # the process dies after writing, before the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'fsync', killed)
    with pytest.raises(KeyboardInterrupt):
        backend.put_text('epoch_2.pth', str(path))
    assert path.read_text() == 'epoch_1.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint'], 'temporary file left behind'
