"""Tests of the SyntheticWSOL generator (tiny datasets, CPU, a few seconds)."""
import json
import os
import os.path as osp
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from script_runner import load_script

from wsol_mm.datasets import SyntheticWSOLDataset
from wsol_mm.datasets.synthetic import (
    SyntheticConfig,
    generate_synthetic,
    preset_config,
    synthetic_class_names,
    synthetic_is_complete,
)
from wsol_mm.datasets.synthetic import generator as gen_mod
from wsol_mm.utils import DataFileError

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY = dict(num_classes=3, image_size=48, splits={'train': 8, 'val': 4}, max_objects=3)


def _tiny(**kw) -> SyntheticConfig:
    return SyntheticConfig(**{**TINY, **kw})


def _read_csv(path: str) -> list[list[str]]:
    with open(path) as f:
        return [line.rstrip('\n').split(',') for line in f if line.strip()]


def _all_files(root: str) -> dict[str, bytes]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def test_config_and_presets():
    assert preset_config('small').size_preset == 'small'
    assert preset_config('default', seed=3).seed == 3
    assert SyntheticConfig(image_size_wh=(40, 24)).wh == (40, 24)
    with pytest.raises(ValueError, match='preset'):
        preset_config('tiny')
    with pytest.raises(ValueError):
        SyntheticConfig(min_area=0.5, max_area=0.1)
    with pytest.raises(ValueError):
        SyntheticConfig(splits={'a/b': 3})
    assert synthetic_class_names(3) == ['c0_disc', 'c1_square', 'c2_triangle']
    assert len(set(synthetic_class_names(30))) == 30


def test_deterministic_and_disjoint(tmp_path):
    cfg = _tiny()
    a = generate_synthetic(str(tmp_path / 'a'), cfg, progress=False)
    b = generate_synthetic(str(tmp_path / 'b'), cfg, progress=False)
    files_a, files_b = _all_files(a), _all_files(b)
    assert files_a.keys() == files_b.keys()
    assert all(files_a[k] == files_b[k] for k in files_a)
    # Splits never share an image; another seed gives other images.
    images = {k: v for k, v in files_a.items() if k.startswith('images')}
    train = {v for k, v in images.items() if k.startswith(osp.join('images', 'train'))}
    val = {v for k, v in images.items() if k.startswith(osp.join('images', 'val'))}
    assert len(train) == 8 and len(val) == 4 and not train & val
    c = _all_files(generate_synthetic(str(tmp_path / 'c'), _tiny(seed=1), progress=False))
    assert not {v for k, v in c.items() if k.startswith('images')} & set(images.values())


def test_metadata_consistency(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_mod, '_IGNORE_PROB', 0.5)  # make sure ignore masks occur
    cfg = _tiny(image_size_wh=(56, 40), splits={'train': 16, 'val': 6})
    root = generate_synthetic(str(tmp_path / 'syn'), cfg, progress=False)
    assert synthetic_is_complete(root, cfg)
    names = open(osp.join(root, 'class_names.txt')).read().split()
    assert names == synthetic_class_names(cfg.num_classes)
    n_ignore = 0
    for split, n in cfg.splits.items():
        meta = osp.join(root, 'metadata', split)
        ids = open(osp.join(meta, 'image_ids.txt')).read().split()
        assert len(ids) == n == len(set(ids))
        labels = {i: int(lab) for i, lab in _read_csv(osp.join(meta, 'class_labels.txt'))}
        sizes = {i: (int(w), int(h)) for i, w, h in _read_csv(osp.join(meta, 'image_sizes.txt'))}
        boxes = {}
        for i, *box in _read_csv(osp.join(meta, 'localization.txt')):
            boxes.setdefault(i, []).append([int(x) for x in box])
        assert set(labels) == set(sizes) == set(boxes) == set(ids)
        for sub in ('image_ids.txt', 'class_labels.txt', 'image_sizes.txt'):
            assert open(osp.join(meta, sub)).read() == open(
                osp.join(root, 'metadata_masks', split, sub)).read()
        masks = {}
        for i, mask_path, ignore_path in _read_csv(
                osp.join(root, 'metadata_masks', split, 'localization.txt')):
            masks.setdefault(i, []).append((mask_path, ignore_path))
        assert set(masks) == set(ids)
        for image_id in ids:
            label = labels[image_id]
            assert 0 <= label < cfg.num_classes
            assert image_id.split('/')[:2] == [split, names[label]]
            img = cv2.imread(osp.join(root, 'images', image_id))
            assert img.shape == (40, 56, 3) and sizes[image_id] == (56, 40)
            assert len(boxes[image_id]) == len(masks[image_id]) <= cfg.max_objects
            union = np.zeros((40, 56), dtype=bool)
            for k, ((x0, y0, x1, y1), (mask_path, ignore_path)) in enumerate(
                    zip(boxes[image_id], masks[image_id])):
                assert 0 <= x0 <= x1 <= 55 and 0 <= y0 <= y1 <= 39
                assert f'_m{label}_' in mask_path
                m = cv2.imread(osp.join(root, 'masks', mask_path), cv2.IMREAD_GRAYSCALE)
                assert set(np.unique(m)) <= {0, 255}
                ys, xs = np.nonzero(m)
                assert (xs.min(), ys.min(), xs.max(), ys.max()) == (x0, y0, x1, y1)
                assert not (union & (m > 0)).any()  # instances do not overlap
                union |= m > 0
                if k > 0:
                    assert ignore_path == ''  # OpenImages: only on an image's first line
            ignore_path = masks[image_id][0][1]
            if ignore_path:
                n_ignore += 1
                ign = cv2.imread(osp.join(root, 'masks', ignore_path), cv2.IMREAD_GRAYSCALE)
                assert (ign > 0).any() and not ((ign > 0) & union).any()
    assert n_ignore > 0


def _box_ratios(root: str, split: str) -> np.ndarray:
    sizes = {i: (int(w), int(h)) for i, w, h in
             _read_csv(osp.join(root, 'metadata', split, 'image_sizes.txt'))}
    return np.array([(int(x1) - int(x0)) * (int(y1) - int(y0)) / np.prod(sizes[i])
                     for i, x0, y0, x1, y1 in
                     _read_csv(osp.join(root, 'metadata', split, 'localization.txt'))])


def test_size_presets(tmp_path):
    splits = {'train': 150}
    small = generate_synthetic(str(tmp_path / 's'), preset_config('small', splits=splits),
                               progress=False)
    ratios = _box_ratios(small, 'train')
    assert 0.6 <= (ratios < 0.04).mean() <= 0.8 and ratios.max() < 0.3
    default = generate_synthetic(str(tmp_path / 'd'), preset_config('default', splits=splits),
                                 progress=False)
    ratios = _box_ratios(default, 'train')
    assert ratios.min() < 0.01 and ratios.max() > 0.49 and 0.2 < (ratios < 0.09).mean() < 0.5
    meta = json.load(open(osp.join(default, 'meta.json')))
    assert sum(meta['stats']['train']['size_hist']) == 150


def test_atomic_and_existing(tmp_path, monkeypatch):
    root = str(tmp_path / 'syn')
    cfg = _tiny()
    # A leftover temp dir from a killed run, even with a meta.json inside, is never "complete".
    stale = f'{root}.tmp-99999999'
    os.makedirs(stale)
    with open(osp.join(stale, 'meta.json'), 'w') as f:
        json.dump({'generator': gen_mod.GENERATOR_NAME, 'config': cfg.to_dict()}, f)
    assert not synthetic_is_complete(root, cfg)

    # A failure mid-way leaves neither the root nor our temp dir.
    real_render = gen_mod._render_image

    def failing(cfg_, split, idx, label):
        if split == 'val' and idx == 2:
            raise RuntimeError('simulated crash')
        return real_render(cfg_, split, idx, label)

    monkeypatch.setattr(gen_mod, '_render_image', failing)
    with pytest.raises(RuntimeError, match='simulated'):
        generate_synthetic(root, cfg, progress=False)
    assert not osp.exists(root) and not synthetic_is_complete(root, cfg)
    assert not osp.exists(f'{root}.tmp-{os.getpid()}')

    monkeypatch.setattr(gen_mod, '_render_image', real_render)
    generate_synthetic(root, cfg, progress=False)
    assert synthetic_is_complete(root, cfg)
    mtime = os.stat(osp.join(root, 'meta.json')).st_mtime_ns
    generate_synthetic(root, cfg, progress=False)  # complete and matching: no rewrite
    assert os.stat(osp.join(root, 'meta.json')).st_mtime_ns == mtime

    other = _tiny(seed=5)
    with pytest.raises(ValueError, match='overwrite'):
        generate_synthetic(root, other, progress=False)
    # A failing overwrite keeps the old dataset intact.
    monkeypatch.setattr(gen_mod, '_render_image', failing)
    with pytest.raises(RuntimeError):
        generate_synthetic(root, other, progress=False, overwrite=True)
    assert synthetic_is_complete(root, cfg)
    monkeypatch.setattr(gen_mod, '_render_image', real_render)
    generate_synthetic(root, other, progress=False, overwrite=True)
    assert synthetic_is_complete(root, other) and not synthetic_is_complete(root, cfg)
    assert not [p for p in os.listdir(tmp_path) if '.old-' in p]

    # Deleting files makes the dataset incomplete; the error names the missing file.
    gone = next(Path(root, 'images', 'val').rglob('*.png'))
    gone.unlink()
    assert not synthetic_is_complete(root, other)
    missing = f'images/{gone.relative_to(Path(root, "images")).as_posix()} is missing'
    with pytest.raises(DataFileError, match=re.escape(missing)):
        generate_synthetic(root, other, progress=False)
    Path(root, 'images', 'val', 'stray.png').write_bytes(b'')
    with pytest.raises(DataFileError, match=r'images/val/stray.png is not in metadata/val'):
        SyntheticWSOLDataset(data_root=root, split='val', generator=other.to_dict())

    # Never delete a directory the generator did not write.
    foreign = tmp_path / 'foreign'
    foreign.mkdir()
    (foreign / 'keep.txt').write_text('x')
    with pytest.raises(ValueError, match='not a SyntheticWSOL'):
        generate_synthetic(str(foreign), cfg, progress=False, overwrite=True)
    assert (foreign / 'keep.txt').exists()


def test_cli(tmp_path, capsys):
    out = tmp_path / 'cli'
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(
        [str(REPO_ROOT), os.environ.get('PYTHONPATH', '')])}
    cmd = [sys.executable, str(REPO_ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py'),
           '--out', str(out), '--preset', 'small', '--num-classes', '2', '--image-size', '32',
           '--train', '6', '--val', '2', '--test', '2', '--max-objects', '2', '--seed', '1',
           '--no-progress']
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert str(out) in res.stdout and '0-1%' in res.stdout
    assert 'train' in res.stdout and 'test' in res.stdout
    cfg = preset_config('small', num_classes=2, image_size=32, max_objects=2, seed=1,
                        splits={'train': 6, 'val': 2, 'test': 2})
    assert synthetic_is_complete(str(out), cfg)
    # The mismatch error path, in-process (a second subprocess would re-import torch).
    cli = load_script(cmd[1])
    assert cli.main(cmd[2:-3] + ['--seed', '2', '--no-progress']) == 1
    assert 'overwrite' in capsys.readouterr().err
