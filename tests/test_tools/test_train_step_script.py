"""``benchmarks/train_step.py`` (issue 14's training benchmark) runs on the shipped configs: one
DeiT method and one crop consistency method at a small size, float32 and bfloat16 (timings are
printed, never asserted)."""
import os
import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = r'[0-9]+\.[0-9]+'


def test_train_step_prints_every_table_row():
    out = subprocess.run([sys.executable, osp.join('benchmarks', 'train_step.py'), '--methods',
                          'tscam', 'crop_resnet50', '--size', '64', '--batch', '2', '--steps',
                          '1', '--threads', '1'], cwd=REPO, capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stderr[-3000:]
    machine = re.search(r'^# CPU .*?, 1 threads, (.*), torch [^,]*, \w+ malloc, load average',
                        out.stdout, re.M)
    assert machine, out.stdout
    assert re.fullmatch(r'bf16 yes \((AVX-512-BF16, no AMX|AVX-512-BF16 and AMX|AMX)\)|'
                        r'bf16 NO: this CPU lacks AVX-512-BF16 and AMX, bf16 runs emulated '
                        r'\(slow\)', machine[1]), machine[1]
    for method, released in (('tscam', '1.02'), ('crop_resnet50', '2.08')):
        # img/s, plain img/s, overhead, released overhead, below released, estimate, bf16
        # img/s and speed-up
        row = rf'^\| {method} \| {NUM} \| {NUM} \| {NUM} \| {released} \| (yes|NO) \| {NUM} \| ' \
              rf'{NUM} \| {NUM} \| '
        assert re.search(row, out.stdout, re.M), f'no {method} row in:\n{out.stdout}'
    for backbone, reference in (('deit_s', 'timm'), ('resnet50', 'torchvision')):
        row = rf'^\| {backbone} \| {NUM} \| {reference} \| {NUM} \| {NUM} \| '
        assert re.search(row, out.stdout, re.M), f'no {backbone} row in:\n{out.stdout}'
