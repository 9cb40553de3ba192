"""`tools/train.py configs/lca_md/deit_s_cub.py` on a native CUB_200_2011 tree (tiny)."""
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np

REPO = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')


def _native_cub(root):
    """4 images of 2 classes (200 listed) in the archive's own file formats."""
    rows = {k: [] for k in ('images', 'image_class_labels', 'train_test_split',
                            'bounding_boxes')}
    for idx, (cls, train) in enumerate([(1, 1), (2, 1), (1, 0), (2, 0)], start=1):
        rel = f'{cls:03d}.Bird_{cls}/img_{idx}.jpg'
        os.makedirs(osp.dirname(osp.join(root, 'images', rel)), exist_ok=True)
        img = np.random.default_rng(idx).integers(0, 255, (240, 300, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'images', rel), img)
        rows['images'].append(f'{idx} {rel}')
        rows['image_class_labels'].append(f'{idx} {cls}')
        rows['train_test_split'].append(f'{idx} {train}')
        rows['bounding_boxes'].append(f'{idx} 20.0 30.0 150.0 120.0')
    for name, lines in rows.items():
        with open(osp.join(root, f'{name}.txt'), 'w') as f:
            f.write('\n'.join(lines) + '\n')
    with open(osp.join(root, 'classes.txt'), 'w') as f:
        f.write(''.join(f'{i} {i:03d}.Bird_{i}\n' for i in range(1, 201)))


def test_train_command_on_native_cub(tmp_path):
    root = str(tmp_path / 'CUB_200_2011')
    _native_cub(root)
    # The user's config, shrunk for a CPU test (no weights download, 1 block, batch 2).
    cfg = tmp_path / 'tiny.py'
    loader = f"dict(batch_size=2, num_workers=0, persistent_workers=False, " \
             f"dataset=dict(data_root={root!r}))"
    cfg.write_text(
        f"_base_ = [{osp.abspath(osp.join(REPO, 'configs/lca_md/deit_s_cub.py'))!r}]\n"
        "model = dict(backbone=dict(pretrained=None, depth=1))\n"
        f"train_dataloader = {loader}\nval_dataloader = {loader}\ntest_dataloader = {loader}\n"
        "train_cfg = dict(max_epochs=1)\n")
    env = dict(os.environ, HF_HUB_OFFLINE='1', PYTHONPATH=osp.abspath(REPO))
    res = subprocess.run([sys.executable, 'tools/train.py', str(cfg), '--work-dir',
                          str(tmp_path / 'work')], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    scalars = [json.loads(line) for path, _, files in os.walk(tmp_path / 'work')
               for name in files if name == 'scalars.json'
               for line in open(osp.join(path, name))]
    train = [s for s in scalars if 'loss_tfcm_sim_min' in s]
    assert train and all(np.isfinite(s['loss']) for s in train)
    val = [s for s in scalars if 'sweep/gt_known' in s]
    assert val and 'maxboxaccv2/mean' in val[0] and 'cls/top1' in val[0]
