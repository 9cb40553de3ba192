"""publish_model.py: weights and plain metadata only, named with date and hash."""
import datetime
import glob
import hashlib
import os.path as osp

import numpy as np
import torch

from tests.test_tools.vis_tool_utils import run_inprocess, tool_error


def test_published_checkpoint_is_stripped_named_and_safe_to_load(tmp_path, monkeypatch):
    ckpt = str(tmp_path / 'epoch_8.pth')
    state = {'head.fc.weight': torch.randn(4, 8)}
    torch.save(dict(state_dict=state, optimizer={'state': {}, 'param_groups': []},
                    meta=dict(epoch=8, seed=np.int64(0), dataset_meta=dict(classes=('a', 'b'))),
                    message_hub=dict(log_scalars={})), ckpt)
    run_inprocess(['tools/model_converters/publish_model.py', ckpt,
                   str(tmp_path / 'out' / 'cam_resnet18_synthetic.pth')], monkeypatch)
    files = glob.glob(str(tmp_path / 'out' / '*.pth'))
    assert len(files) == 1
    name = osp.basename(files[0])
    today = datetime.date.today().strftime('%Y%m%d')
    sha = hashlib.sha256(open(files[0], 'rb').read()).hexdigest()
    assert name == f'cam_resnet18_synthetic_{today}-{sha[:8]}.pth'
    out = torch.load(files[0], weights_only=True)  # no pickled objects left
    assert set(out) == {'state_dict', 'meta'} and out['meta']['seed'] == 0
    assert torch.equal(out['state_dict']['head.fc.weight'], state['head.fc.weight'])


def test_not_a_checkpoint_is_one_message(tmp_path, monkeypatch):
    bad = str(tmp_path / 'x.pth')
    torch.save({'weights': 1}, bad)
    message = tool_error(['tools/model_converters/publish_model.py', bad, str(tmp_path / 'y.pth')],
                         monkeypatch)
    assert message.startswith('publish_model.py: error: ') and 'has no state_dict' in message
