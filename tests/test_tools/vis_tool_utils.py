"""Shared helpers of the visualisation/analysis tool tests (tiny configs, models, results)."""
import os.path as osp
import subprocess
import sys

import numpy as np
import torch
from script_runner import run_script

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_config(path: str, data_root: str) -> str:
    """The quickstart config on the 64 px tiny SyntheticWSOL (4 classes, 8 test images)."""
    gen = "dict(image_size=64, num_classes=4, splits=dict(train=16, val=8, test=8), seed=1)"
    loader = ("dict(batch_size=4, num_workers=0, persistent_workers=False, "
              f"dataset=dict(data_root={data_root!r}, generator={gen}))")
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')!r}]\n"
                f"train_dataloader = {loader}\nval_dataloader = {loader}\n"
                f"test_dataloader = {loader}\n")
    return path


def random_checkpoint(cfg_path: str, out: str) -> str:
    """A randomly initialised model of ``cfg_path`` saved as an mmengine checkpoint."""
    from wsol_mm.apis import init_localizer
    torch.manual_seed(0)
    model = init_localizer(cfg_path)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1)), out)
    return out


def build_test_dataset(cfg_path: str):
    """The built test dataset of a config."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from wsol_mm.registry import DATASETS
    from wsol_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('wsol_mm'):
        return DATASETS.build(Config.fromfile(cfg_path).test_dataloader.dataset)


def shifted_box_records(cfg_path: str) -> list:
    """Results records whose maps are the GT box shifted right by 0, 1/4, 1/2, 3/4 of it."""
    from wsol_mm.utils.wsol_results_io import compact_record
    dataset = build_test_dataset(cfg_path)
    records = []
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        h, w = sample.img_shape
        x0, y0, x1, y1 = sample.gt_bboxes[0].int().tolist()
        shift = (i % 4) * (x1 - x0 + 1) // 4
        cam = torch.zeros(h, w)
        cam[y0:y1 + 1, min(x0 + shift, w - 1):min(x1 + 1 + shift, w)] = 1.0
        cam[0, 0] = 0.05  # a background level below every threshold used
        sample.pred_cam = cam
        scores = torch.full((4, ), 0.1)
        label = int(sample.gt_label) if i % 3 else (int(sample.gt_label) + 1) % 4
        scores[label] = 0.7
        sample.set_pred_score(scores).set_pred_label(label)
        records.append(compact_record(sample))
    return records


def run_tool(args: list, cwd: str = REPO_ROOT) -> subprocess.CompletedProcess:
    """Run ``python <args>`` with the repository on the path, one thread (forked from a
    preloaded interpreter: ``tests/script_runner.py``)."""
    return run_script([sys.executable] + args, cwd=cwd)


def png_size(path: str) -> tuple:
    """``(height, width)`` of an image file."""
    import mmcv
    img = mmcv.imread(path)
    assert img is not None, f'{path} is not an image'
    return img.shape[:2]


def ratio_percent(box: np.ndarray, ori_shape: tuple) -> float:
    """GT box area over image area in percent (no +1, as the size bins define it)."""
    return 100.0 * (box[2] - box[0]) * (box[3] - box[1]) / (ori_shape[0] * ori_shape[1])


def tool_error(args: list, monkeypatch) -> str:
    """Run a tool in this process and return the one-line message it exits with.

    The tools turn user errors into one line without a traceback: ``sys.exit(message)``, or
    ``<tool>: error: <message>`` on stderr and exit status 1 (``report_user_errors``);
    running them in-process keeps these checks fast.
    """
    import contextlib
    import io
    import runpy

    import pytest
    monkeypatch.setattr(sys, 'argv', [args[0]] + list(args[1:]))
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exc, contextlib.redirect_stderr(stderr):
        runpy.run_path(osp.join(REPO_ROOT, args[0]), run_name='__main__')
    if exc.value.code == 1 and stderr.getvalue().strip():
        lines = stderr.getvalue().strip().splitlines()
        assert len(lines) == 1 and ': error: ' in lines[0], stderr.getvalue()[-2000:]
        return lines[0]
    assert isinstance(exc.value.code, str), f'{args[0]} exited with {exc.value.code!r}'
    return exc.value.code


def run_inprocess(args: list, monkeypatch) -> None:
    """Run ``tools/<script> args`` as ``__main__`` in this process (read output with capsys).

    Subprocesses pay the whole import time again; most tool tests run in-process and one
    test per tool family keeps a real subprocess.
    """
    import runpy
    monkeypatch.setattr(sys, 'argv', [args[0]] + list(args[1:]))
    try:
        runpy.run_path(osp.join(REPO_ROOT, args[0]), run_name='__main__')
    except SystemExit as exc:
        assert exc.code in (None, 0), f'{args[0]} exited with {exc.code!r}'
