"""DA-WSOL stage 1 (train, resume) then crop-consistency fine-tuning via load_from, in tools."""
import os.path as osp
import subprocess
import sys

import torch
from script_runner import run_script

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASE = osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')
TRAIN_IMAGES = 16


def _write(path: str, data_root: str, epochs: int, extra: str) -> str:
    gen = (f"dict(image_size=64, num_classes=4, splits=dict(train={TRAIN_IMAGES}, val=8, "
           "test=8), seed=1)")
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={data_root!r}, generator={gen}))")
    with open(path, 'w') as f:
        f.write(f"_base_ = [{BASE!r}]\n"
                f"train_dataloader = {loader}\nval_dataloader = {loader}\n"
                f"test_dataloader = {loader}\n"
                f"train_cfg = dict(max_epochs={epochs}, val_interval=1)\n"
                "default_hooks = dict(logger=dict(interval=1))\n"
                "param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]\n"
                "model = dict(backbone=dict(large_feature_map=True))\n" + extra)
    return path


def _train(*args) -> subprocess.CompletedProcess:
    out = run_script([sys.executable, 'tools/train.py', *args])
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def _assigner_state(path: str) -> dict:
    state = torch.load(path, map_location='cpu', weights_only=False)['state_dict']
    return {k.rsplit('.', 1)[-1]: v for k, v in state.items() if 'assigner' in k}


def test_da_train_resume_then_crop_finetune(tiny_synthetic, tmp_path):
    da = ("model.update(methods=[dict(type='DomainAdaptation', num_classes=4, "
          "feat_channels=512, assigner=dict(num_source=8, num_target=8))])\n")
    run1 = str(tmp_path / 'da')
    _train(_write(str(tmp_path / 'da1.py'), tiny_synthetic, 1, da), '--work-dir', run1)
    first = _assigner_state(osp.join(run1, 'epoch_1.pth'))
    assert first['universum_count'].item() == TRAIN_IMAGES
    assert first['class_counts'].sum() >= TRAIN_IMAGES  # + one seed per class seen
    assert first['class_centres'].abs().sum() > 0
    # Runner resume continues from the saved running centres.
    _train(_write(str(tmp_path / 'da2.py'), tiny_synthetic, 2, da), '--work-dir', run1,
           '--resume')
    second = _assigner_state(osp.join(run1, 'epoch_2.pth'))
    assert second['universum_count'].item() == 2 * TRAIN_IMAGES
    assert second['class_counts'].sum() == first['class_counts'].sum() + TRAIN_IMAGES
    # Stage 2: crop consistency from the DA checkpoint (the official two-stage recipe).
    crop = ("model.update(type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.85, "
            "crop_ratio=0.1, loss_pos=0.8, loss_neg=0.8, loss_ratio=0.2)\n"
            f"load_from = {osp.join(run1, 'epoch_2.pth')!r}\n")
    run2 = str(tmp_path / 'crop')
    out = _train(_write(str(tmp_path / 'crop.py'), tiny_synthetic, 1, crop), '--work-dir', run2)
    log = out.stdout + out.stderr
    assert 'Load checkpoint from' in log and 'loss_crop_cons' in log
    crop_state = torch.load(osp.join(run2, 'epoch_1.pth'), map_location='cpu',
                            weights_only=False)['state_dict']
    assert not any('assigner' in k for k in crop_state)  # DA buffers are not carried over
    assert 'backbone.layer4.0.conv1.weight' in crop_state
