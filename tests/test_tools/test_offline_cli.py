"""The air-gapped user story through the tools: data first, one weights message, test offline.

Each tool runs in a subprocess whose network is cut (``socket.socket.connect`` fails) and whose
download functions record any call in a marker file instead of downloading: the tests fail on a
download attempt, whatever its outcome.
"""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from wsol_mm.apis.preflight import drop_pretrained
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from test_lca_md_native_cub import _native_cub  # noqa: E402
from tools_test_utils import REPO_ROOT, run_tool  # noqa: E402

_SITE = '''
import os, socket
def _no_network(self, *args, **kwargs):
    raise OSError('network unreachable (test)')
socket.socket.connect = _no_network
def _record(*args, **kwargs):
    with open(os.environ['WSOL_MM_TEST_DOWNLOAD_MARKER'], 'a') as f:
        f.write(repr(args[:2]) + '\\n')
    raise OSError('download attempted (test)')
import torch.hub
torch.hub.download_url_to_file = _record
torch.hub.load_state_dict_from_url = _record
import huggingface_hub, huggingface_hub.file_download
huggingface_hub.hf_hub_download = _record
huggingface_hub.file_download.hf_hub_download = _record
'''


@pytest.fixture
def air_gapped(tmp_path):
    """(run, marker): run a tool with no network, empty weight caches and download traps."""
    site = tmp_path / 'site'
    site.mkdir()
    (site / 'sitecustomize.py').write_text(_SITE)
    marker = tmp_path / 'downloads.txt'

    def run(args):
        return run_tool(args, extra_path=str(site), TORCH_HOME=str(tmp_path / 'torch_home'),
                        HF_HOME=str(tmp_path / 'hf_home'),
                        WSOL_MM_TEST_DOWNLOAD_MARKER=str(marker), timeout=300)
    return run, marker


def _one_error_line(res, tool: str) -> str:
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == 1, res.stderr[-3000:]
    assert lines[-1].startswith(f'{tool}: error: ') and 'Traceback' not in res.stderr, \
        res.stderr[-3000:]
    return lines[-1]


def test_train_reports_missing_data_before_the_model(air_gapped, tmp_path):
    run, marker = air_gapped
    res = run(['tools/train.py', 'configs/lca_md/deit_s_cub.py', '--work-dir',
               str(tmp_path / 'work'), '--data-root', str(tmp_path / 'CUB_200_2011')])
    line = _one_error_line(res, 'train.py')
    assert 'dataset not found' in line and str(tmp_path / 'CUB_200_2011') in line
    assert '--data-root' in line and not marker.exists()


def test_train_names_the_weights_file_offline(air_gapped, tmp_path):
    run, marker = air_gapped
    root = str(tmp_path / 'CUB_200_2011')
    _native_cub(root)
    res = run(['tools/train.py', 'configs/lca_md/deit_s_cub.py', '--work-dir',
               str(tmp_path / 'work'), '--data-root', root])
    line = _one_error_line(res, 'train.py')
    for part in ('deit_small_patch16_224-cd65a155.pth', 'cd65a155',
                 'https://dl.fbaipublicfiles.com/deit/', 'model.backbone.pretrained=',
                 str(tmp_path / 'torch_home')):
        assert part in line, line
    assert not marker.exists()


def test_test_tool_needs_no_weights_for_a_checkpoint(air_gapped, tmp_path):
    """tools/test.py on a config asking for DeiT weights that are nowhere: the checkpoint
    has every weight, so it evaluates without them and without network."""
    run, marker = air_gapped
    root = str(tmp_path / 'CUB_200_2011')
    _native_cub(root)
    options = ['model.backbone.depth=1', 'test_dataloader.dataset.native=True',
               'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/tscam/deit_t_cub.py'))
    assert cfg.model.backbone.pretrained is True
    cfg.model.backbone.depth = 1
    drop_pretrained(cfg.model)
    register_all_modules()
    ckpt = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict(), meta=dict()), ckpt)
    res = run(['tools/test.py', 'configs/tscam/deit_t_cub.py', str(ckpt), '--work-dir',
               str(tmp_path / 'work'), '--data-root', root, '--cfg-options', *options])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'maxboxaccv2/mean' in res.stdout and not marker.exists()
