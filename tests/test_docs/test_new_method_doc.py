"""docs/new_method.md: its method file and config, run exactly as written (train, test, crop)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _blocks():
    text = open(osp.join(REPO, 'docs', 'new_method.md'), encoding='utf-8').read()
    return re.findall(r'```python\n(.*?)```', text, flags=re.S)


def test_doc_method_and_config_train_test_and_compose(tiny_synthetic, tmp_path):
    method_code, config_code = _blocks()[:2]
    (tmp_path / 'cam_area_penalty.py').write_text(method_code)
    base = osp.join(REPO, 'configs', 'cam', 'resnet18_synthetic.py')
    assert "'../configs/cam/resnet18_synthetic.py'" in config_code
    loader = ("dict(batch_size=8, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={tiny_synthetic!r}, generator=dict(image_size=64, "
              "num_classes=4, splits=dict(train=16, val=8, test=8), seed=1)))")
    tiny = (f"train_dataloader = {loader}\nval_dataloader = {loader}\n"
            f"test_dataloader = {loader}\ntrain_cfg = dict(max_epochs=1, val_interval=1)\n"
            "default_hooks = dict(logger=dict(interval=1))\n"
            "param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]\n")
    cfg = tmp_path / 'area_resnet18_synthetic.py'
    cfg.write_text(config_code.replace('../configs/cam/resnet18_synthetic.py', base) + tiny)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), HF_HUB_OFFLINE='1', OMP_NUM_THREADS='1')
    work = tmp_path / 'work'
    out = subprocess.run([sys.executable, 'tools/train.py', str(cfg), '--work-dir', str(work)],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    scalars = [json.loads(line) for root, _, files in os.walk(work) for name in files
               if name == 'scalars.json' for line in open(osp.join(root, name))]
    train = [s for s in scalars if 'loss_area_mean' in s]
    assert train and all(0 < s['area_mean'] <= 1 for s in train)
    assert all(abs(s['loss'] - s['loss_cls'] - s['loss_area_mean']) < 1e-3 for s in train)
    ckpt = open(work / 'last_checkpoint').read().strip()
    out = subprocess.run([sys.executable, 'tools/test.py', str(cfg), ckpt, '--work-dir',
                          str(work)], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'maxboxaccv2/mean' in out.stdout

    # Composition: crop consistency wraps the same localizer; the penalty runs on both passes.
    sys.path.insert(0, str(tmp_path))
    try:
        from mmengine.config import Config

        from wsol_mm.registry import MODELS
        from wsol_mm.structures import WSOLDataSample
        from wsol_mm.utils import register_all_modules
        register_all_modules()
        model_cfg = Config.fromfile(str(cfg)).model
        model_cfg.update(type='CropConsistency', localizer='CAMLocalizer',
                         other_method_loss_ratio=0.5)
        import cam_area_penalty  # noqa: F401  (registers the component, as custom_imports)
        model = MODELS.build(model_cfg).eval()
        samples = [WSOLDataSample(metainfo=dict(img_shape=(64, 64))).set_gt_label(c)
                   for c in (0, 3)]
        x = torch.randn(2, 3, 64, 64)
        losses = model.loss(x, samples)
        inner = model.localizer
        t_orig = inner.pass_losses(inner.forward_train(x, samples), samples)
        assert losses['area_mean'] == t_orig['area_mean']  # logged from the original pass
        assert losses['loss_area_mean'] > 0.5 * t_orig['loss_area_mean']  # + the zoom pass
    finally:
        sys.path.remove(str(tmp_path))
