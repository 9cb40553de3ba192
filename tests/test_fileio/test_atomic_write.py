"""The one atomic writer: whole files or nothing, and no temporary file left for ever."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from wsol_mm.fileio import atomic_open, atomic_write_json, atomic_write_text, clean_stale_temps
from wsol_mm.fileio import atomic_write as atomic_mod


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid  # reaped: no process has this pid now (until it is reused)


def test_write_replaces_whole_file_with_umask_permissions(tmp_path):
    path = tmp_path / 'sub' / 'metrics.json'
    atomic_write_json(str(path), {'a': 1})
    atomic_write_json(str(path), {'a': 2})
    assert json.loads(path.read_text()) == {'a': 2}
    assert os.listdir(path.parent) == ['metrics.json']
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_exception_keeps_old_content_and_removes_temp(tmp_path):
    path = tmp_path / 'last_checkpoint'
    atomic_write_text(str(path), 'epoch_1.pth')
    with pytest.raises(RuntimeError, match='disk full'):
        with atomic_open(str(path), 'w') as f:
            f.write('epoch_2')
            raise RuntimeError('disk full')
    assert path.read_text() == 'epoch_1.pth'
    assert os.listdir(tmp_path) == ['last_checkpoint']
    with pytest.raises(ValueError, match='whole files'):
        with atomic_open(str(path), 'a'):
            pass


def test_stale_temps_of_dead_writers_are_removed(tmp_path, monkeypatch):
    host = atomic_mod._HOST
    dead = tmp_path / f'.tmp-{_dead_pid()}@{host}-0123abcd'
    mine = tmp_path / f'.tmp-{os.getpid()}@{host}-89abcdef'
    foreign_new = tmp_path / f'.tmp-{_dead_pid()}@otherhost-00000000'
    foreign_old = tmp_path / f'.tmp-{_dead_pid()}@otherhost-11111111'
    legacy_old = tmp_path / '.tmp-a1b2_c3d'  # tempfile.mkstemp name of earlier versions
    keep = tmp_path / '.tmp-notes.txt'  # not a name the writer uses
    for p in (dead, mine, foreign_new, foreign_old, legacy_old, keep):
        p.write_bytes(b'x' * 10)
    old = time.time() - atomic_mod.STALE_TEMP_AGE_S - 10
    for p in (foreign_old, legacy_old):
        os.utime(p, (old, old))
    assert clean_stale_temps(str(tmp_path)) == 3
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, foreign_new.name, keep.name])
    assert clean_stale_temps(str(tmp_path)) == 0  # scanned once per process and folder


def test_sigkilled_writer_leaves_temp_that_next_write_removes(tmp_path):
    """A real SIGKILL half-way through a write; the next write into the folder cleans up."""
    target = tmp_path / 'epoch_2.pth'
    code = ('import os, signal, sys\n'
            'from wsol_mm.fileio import atomic_open\n'
            'with atomic_open(sys.argv[1]) as f:\n'
            '    f.write(b"half"); f.flush()\n'
            '    os.kill(os.getpid(), signal.SIGKILL)\n')
    proc = subprocess.run([sys.executable, '-c', code, str(target)], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    left = [p for p in os.listdir(tmp_path) if p.startswith('.tmp-')]
    assert len(left) == 1 and not target.exists()
    atomic_write_text(str(tmp_path / 'last_checkpoint'), 'epoch_1.pth')
    assert os.listdir(tmp_path) == ['last_checkpoint']
