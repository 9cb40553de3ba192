"""Helpers of the subprocess tests of tools/*.py: a tiny SyntheticWSOL config and a runner."""
import os
import os.path as osp
import re
import subprocess
import sys
from typing import Optional, Sequence

from script_runner import base_env, run_script

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def write_config(path: str, data_root: str, epochs: int = 1, batch_size: int = 8,
                 val_interval: int = 1, extra: str = '', input_size: Optional[int] = None) -> str:
    """A CAM ResNet-18 config on the 64 px SyntheticWSOL fixture (16/8/8 images).

    ``input_size`` replaces the config's 112 px crops and resizes (e.g. 32: a twelfth of
    the pixels, for tests whose steps are slow, such as bfloat16 on a CPU without it).
    """
    gen = "dict(image_size=64, num_classes=4, splits=dict(train=16, val=8, test=8), seed=1)"
    loaders = {}
    for split in ('train', 'val', 'test'):
        pipeline = _pipeline(input_size, train=split == 'train')
        dataset = f"data_root={data_root!r}, generator={gen}" + (
            f", pipeline={pipeline}" if pipeline else '')
        loaders[split] = (f"dict(batch_size={batch_size}, num_workers=0, "
                          f"persistent_workers=False, dataset=dict({dataset}))")
    with open(path, 'w') as f:
        f.write(f"_base_ = [{osp.join(REPO_ROOT, 'configs/cam/resnet18_synthetic.py')!r}]\n"
                f"train_dataloader = {loaders['train']}\nval_dataloader = {loaders['val']}\n"
                f"test_dataloader = {loaders['test']}\n"
                f"train_cfg = dict(max_epochs={epochs}, val_interval={val_interval})\n"
                "default_hooks = dict(logger=dict(interval=1))\n"
                "param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]\n"
                + extra)
    return path


def _pipeline(input_size: Optional[int], train: bool) -> str:
    """The synthetic config's pipeline at ``input_size`` px ('' keeps the config's)."""
    if input_size is None:
        return ''
    resize = (f"dict(type='RandomResizedCrop', scale={input_size}, "
              "crop_ratio_range=(0.35, 1.0)), dict(type='RandomFlip', prob=0.5)" if train
              else f"dict(type='Resize', scale={input_size})")
    return (f"[dict(type='LoadImageFromFile'), dict(type='LoadWSOLAnnotations'), {resize}, "
            "dict(type='PackWSOLInputs')]")


def tool_env(extra_path: Optional[str] = None, **env: str) -> dict:
    """The environment of a tool subprocess: repo on PYTHONPATH, offline, one thread."""
    env = base_env(**env)
    if extra_path:
        env['PYTHONPATH'] = os.pathsep.join([extra_path, env['PYTHONPATH']])
    return env


def run_tool(args: Sequence[str], extra_path: Optional[str] = None, timeout: int = 600,
             **env: str) -> subprocess.CompletedProcess:
    """Run ``python <args>`` (or a shell script) from the repository root (forked from a
    preloaded interpreter where that is the same run: ``tests/script_runner.py``)."""
    if args[0].endswith('.py'):
        args = [sys.executable] + list(args)
    return run_script(args, env=tool_env(extra_path, **env), cwd=REPO_ROOT, timeout=timeout)


def table_metrics(stdout: str) -> dict:
    """``{key: value}`` of the metrics table printed by tools/test.py and train.py --test."""
    rows = re.findall(r'^(\S+)\s+\|\s+([-\d.]+)', stdout, flags=re.M)
    return {k: float(v) for k, v in rows}


def free_port() -> str:
    """A TCP port nobody listens on now (rendezvous of a 2-process test; tests may run in
    parallel, so never the fixed default 29500)."""
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])
