"""``benchmarks/released_step.py`` on a generated TS-CAM checkout: the released model is
imported from the checkout's files, its losses are checked against wsol_mm's with the
converted weights (a model that computes another loss stops the run), and every variant is
timed in its own process (timings are printed, never asserted)."""
import os.path as osp
import re
import subprocess
import sys
import textwrap

from test_train_step_script import NUM, REPO

# A TS-CAM checkout's model file, in the released layout (lib/models/deit.py with a
# relative import): DeiT-S tokens, the final norm, a 3x3 conv head on the patch map and
# its global average. SCALE != 1 makes it compute another loss than wsol_mm's TS-CAM.
DEIT_PY = '''
import torch.nn as nn

from .vision_transformer import VisionTransformer

SCALE = {scale}


class TSCAM(VisionTransformer):
    def __init__(self, num_classes, **kwargs):
        super().__init__(num_classes=0, embed_dim=384, depth=12, num_heads=6, **kwargs)
        self.head = nn.Conv2d(384, num_classes, kernel_size=3, padding=1)

    def forward(self, x, return_cam=False):
        tokens = self.forward_features(x)[:, 1:]
        side = int(tokens.shape[1] ** 0.5)
        fmap = tokens.transpose(1, 2).reshape(x.shape[0], -1, side, side)
        return self.head(fmap).mean(dim=(2, 3)) * SCALE


def deit_tscam_small_patch16_224(pretrained=False, **kwargs):
    return TSCAM(**kwargs)
'''


def make_checkout(root: str, scale: float = 1.0) -> str:
    models = osp.join(root, 'lib', 'models')
    subprocess.run(['mkdir', '-p', models], check=True)
    with open(osp.join(models, '__init__.py'), 'w') as f:
        f.write('raise ImportError("the package __init__ is never run")\n')
    with open(osp.join(models, 'vision_transformer.py'), 'w') as f:
        f.write('from timm.models.vision_transformer import VisionTransformer  # noqa\n')
    with open(osp.join(models, 'deit.py'), 'w') as f:
        f.write(textwrap.dedent(DEIT_PY.format(scale=scale)))
    return root


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, osp.join('benchmarks', 'released_step.py'), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=600)


def test_released_step_checks_losses_and_times_both_sides(tmp_path):
    root = make_checkout(str(tmp_path / 'TS-CAM'))
    out = run('--tscam', root, '--size', '32', '--batch', '2', '--steps', '1', '--warmup', '0',
              '--threads', '1')
    assert out.returncode == 0, out.stderr[-3000:]
    losses = re.search(rf'^# equal losses, tscam: released ({NUM}), wsol_mm ({NUM})$',
                       out.stdout, re.M)
    assert losses and abs(float(losses[1]) - float(losses[2])) < 1e-4, out.stdout
    # wsol_mm img/s, released img/s, ratio, overhead, released overhead here, the issue's,
    # page faults, peak RSS (each process's own: torch and a DeiT-S, > 300 MB)
    row = re.search(rf'^\| tscam \| {NUM} \| {NUM} \| {NUM} \| {NUM} \| {NUM} \| 1\.02 \| '
                    r'[0-9]+ / [0-9]+ \| ([0-9]+) / ([0-9]+) \|$', out.stdout, re.M)
    assert row and min(int(row[1]), int(row[2])) > 300, out.stdout
    assert re.search(rf'^\| plain DeiT-S \(released: timm\) \| {NUM} \| {NUM} \| {NUM} \| - \|',
                     out.stdout, re.M), out.stdout
    steps = dict(re.findall(r'^# steps ([a-z ]+): ((?:[0-9.]+ )+)s', out.stderr, re.M))
    assert sorted(steps) == ['plain', 'released tscam', 'timm', 'tscam'], out.stderr
    assert all(len(times.split()) == 1 for times in steps.values()), steps


def test_released_step_stops_when_the_losses_differ(tmp_path):
    root = make_checkout(str(tmp_path / 'TS-CAM'), scale=1.5)
    out = run('--tscam', root, '--size', '32', '--batch', '2')
    assert out.returncode == 1
    assert re.search(r'equal losses FAILED, tscam: released [0-9.]+, wsol_mm [0-9.]+',
                     out.stderr), out.stderr
    assert '# steps' not in out.stderr  # nothing timed


def test_released_step_names_a_wrong_checkout(tmp_path):
    out = run('--scm', str(tmp_path))
    assert out.returncode == 1
    assert f'--scm {tmp_path}: no lib/models/deit.py there; pass the root of a checkout of ' \
           'https://github.com/hbai98/SCM' in out.stderr, out.stderr
