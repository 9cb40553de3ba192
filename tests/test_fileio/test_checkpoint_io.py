"""Safe checkpoint loading: weights_only + an allow-list, and errors that name the file."""
import functools
import http.server
import os
import os.path as osp
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import checkpoint as mm_checkpoint

import wsol_mm  # noqa: F401  (routes mmengine's loaders)
from wsol_mm.fileio import TRUST_ENV, load_checkpoint_file
from wsol_mm.fileio import remote_checkpoints as remote
from wsol_mm.utils import CheckpointError, MissingFileError


def _mmengine_like_checkpoint() -> dict:
    """What ``Runner.save_checkpoint`` stores besides tensors (HistoryBuffer, numpy scalars)."""
    hub = MessageHub.get_instance('test_checkpoint_io')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/lr', np.float64(0.1))
    hub.update_info('eta', np.float64(12.5))
    hub.update_info('keep_ckpt_ids', [1, 2])
    state = hub.state_dict()
    state['log_scalars']['val/unused'] = HistoryBuffer()  # empty array data pickles as bytes()
    return dict(meta=dict(epoch=2, seed=0, dataset_meta=dict(classes=('a', 'b'))),
                state_dict={'w': torch.arange(3.)}, message_hub=state,
                optimizer=dict(state={}, param_groups=[dict(lr=0.1, params=[0])]))


def test_mmengine_checkpoint_loads_without_full_unpickling(tmp_path):
    path = str(tmp_path / 'epoch_2.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    with pytest.raises(Exception):  # plain weights_only refuses it (the reason for the list)
        torch.load(path, weights_only=True)
    ckpt = load_checkpoint_file(path)
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.mean() == 1.5
    assert len(ckpt['message_hub']['log_scalars']['val/unused'].data[0]) == 0
    assert ckpt['message_hub']['runtime_info']['eta'] == 12.5
    assert torch.equal(ckpt['state_dict']['w'], torch.arange(3.))
    # The allow-list is scoped to the load: a bare torch.load still refuses HistoryBuffer.
    assert HistoryBuffer not in torch.serialization.get_safe_globals()


def test_malicious_checkpoint_is_refused_by_every_loader(malicious_checkpoint):
    path, marker = malicious_checkpoint
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_file(path)
    msg = str(err.value)
    assert path in msg and 'io.open' in msg and f'{TRUST_ENV}={path}' in msg
    with pytest.raises(CheckpointError):
        mm_checkpoint.CheckpointLoader.load_checkpoint(path, map_location='cpu')
    with pytest.raises(CheckpointError):
        mm_checkpoint.load_checkpoint(torch.nn.Linear(1, 1), path)
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(path)  # import wsol_mm sets no process-wide switch
    assert not osp.exists(marker)


def test_every_mmengine_scheme_ends_in_the_safe_loader():
    ours = {remote.load_from_local, remote.load_from_http, remote.load_from_ceph,
            remote.load_from_pavi, remote.load_from_openmmlab}
    via_http = {'modelzoo://', 'torchvision://', 'mmcls://'}
    for prefix, loader in mm_checkpoint.CheckpointLoader._schemes.items():
        assert loader in ours or prefix in via_http, prefix
    assert mm_checkpoint.load_from_http is remote.load_from_http  # what those schemes call


def test_import_sets_no_weights_only_switch(malicious_checkpoint):
    path, marker = malicious_checkpoint
    env = {k: v for k, v in os.environ.items() if 'WEIGHTS_ONLY' not in k}
    code = ('import os, torch, wsol_mm\n'
            'assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ\n'
            f'try:\n    torch.load({path!r})\nexcept Exception:\n    print("refused")\n')
    out = subprocess.run([sys.executable, '-c', code], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and 'refused' in out.stdout, out.stderr[-2000:]
    assert not osp.exists(marker)


def test_trusted_file_is_fully_unpickled_only_when_listed(malicious_checkpoint, tmp_path,
                                                           monkeypatch):
    path, marker = malicious_checkpoint
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / 'other.pth'))
    with pytest.raises(CheckpointError):
        load_checkpoint_file(path)
    assert not osp.exists(marker)
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([str(tmp_path / 'other.pth'), path]))
    load_checkpoint_file(path)
    assert osp.exists(marker)  # the user's explicit choice


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    class Reach:
        def __init__(self, name):
            self.name = name

        def __reduce__(self):
            return getattr, (HistoryBuffer, self.name)

    ok, bad = str(tmp_path / 'ok.pth'), str(tmp_path / 'bad.pth')
    torch.save({'f': Reach('mean')}, ok)
    torch.save({'f': Reach('__init__')}, bad)
    assert load_checkpoint_file(ok)['f'] is HistoryBuffer.mean
    with pytest.raises(CheckpointError, match='bad.pth'):
        load_checkpoint_file(bad)


@pytest.mark.parametrize('content, expected', [
    (b'', 'is empty'),
    (b'checkpoint: epoch_3.pth\n', r'is not a PyTorch checkpoint \(it starts with'),
])
def test_not_a_checkpoint_names_the_file(tmp_path, content, expected):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=f'{path}.*{expected}|{expected}'):
        load_checkpoint_file(str(path))
    with pytest.raises(MissingFileError, match='nope.pth not found'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_truncated_checkpoint_is_reported_as_truncated(tmp_path):
    full = tmp_path / 'full.pth'
    torch.save(_mmengine_like_checkpoint(), str(full))
    cut = tmp_path / 'epoch_3.pth'
    cut.write_bytes(full.read_bytes()[:full.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r'epoch_3.pth is truncated or corrupt'):
        load_checkpoint_file(str(cut))


def test_http_checkpoints_are_not_unpickled(malicious_checkpoint, tmp_path):
    path, marker = malicious_checkpoint
    good = tmp_path / 'good.pth'
    torch.save(_mmengine_like_checkpoint(), str(good))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f'http://127.0.0.1:{server.server_address[1]}'
    hub_dir = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / 'hub'))
    try:
        ckpt = mm_checkpoint.CheckpointLoader.load_checkpoint(f'{url}/good.pth')
        assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
        with pytest.raises(CheckpointError, match=f'{url}/evil.pth'):
            mm_checkpoint.CheckpointLoader.load_checkpoint(f'{url}/evil.pth')
    finally:
        torch.hub.set_dir(hub_dir)
        server.shutdown()
    assert not osp.exists(marker)


def test_open_mmlab_zoo_files_are_not_unpickled(malicious_checkpoint, tmp_path, monkeypatch):
    """A model-zoo name that maps to a file in MMENGINE_HOME goes through the safe loader."""
    path, marker = malicious_checkpoint
    monkeypatch.setenv('MMENGINE_HOME', str(tmp_path))
    (tmp_path / 'open_mmlab.json').write_text('{"my_backbone": "evil.pth"}')
    with pytest.raises(CheckpointError, match='open-mmlab://my_backbone is not a plain'):
        mm_checkpoint.CheckpointLoader.load_checkpoint('open-mmlab://my_backbone')
    assert not osp.exists(marker)
