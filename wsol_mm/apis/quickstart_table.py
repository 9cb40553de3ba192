"""The README's Quick-start table, produced by running the quickstart's outputs through the code.

The model column comes from ``tools/test.py`` on the quickstart checkpoint (or
on N fresh trainings, to measure the run-to-run spread); the baseline columns
from :func:`wsol_mm.apis.baselines.evaluate_box_baselines`. ``check_table``
compares a markdown file (README.md) with the numbers of this run.
"""
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# (metric key, row label) in the README's order; {thr} is the config's fixed CAM threshold.
TABLE_KEYS = (
    ('maxboxaccv2/mean', '`maxboxaccv2/mean`'),
    ('maxboxaccv2/iou50', '`maxboxaccv2/iou50`'),
    ('loc/gt_known', '`loc/gt_known` (CAM threshold {thr})'),
    ('maxboxaccv2/size_mean', '`maxboxaccv2/size_mean`'),
    ('cls/top1', '`cls/top1`'),
)
BASELINE_NAMES = {'whole-image': 'whole-image box',
                  'centre-box': 'centred box, mean train GT size'}


def _run(args: Sequence[str], log: Optional[str] = None) -> None:
    """Run a tool of this repository; on failure raise with the end of its output."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable] + list(args), cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True)
    if log:
        with open(log, 'a', encoding='utf-8') as f:
            f.write(out.stdout + out.stderr)
    if out.returncode != 0:
        raise RuntimeError(f'{" ".join(args[:2])} failed (exit {out.returncode}):\n'
                           f'{(out.stdout + out.stderr)[-3000:]}')


def evaluate_checkpoint(config: str, checkpoint: str, work_dir: str,
                        cfg_options: Sequence[str] = ()) -> Dict[str, float]:
    """Test-split metrics of ``checkpoint`` by ``tools/test.py`` (the quickstart's own step)."""
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} not found; run the quickstart '
                                '(bash tools/quickstart.sh) or pass --checkpoint')
    out = osp.join(work_dir, 'table_test_metrics.json')
    extra = ['--cfg-options', *cfg_options] if cfg_options else []
    _run(['tools/test.py', config, checkpoint, '--work-dir', work_dir, '--metrics-json', out]
         + extra, log=osp.join(work_dir, 'quickstart_table.log'))
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def train_and_evaluate(config: str, work_dir: str, seed: Optional[int] = None,
                       cfg_options: Sequence[str] = ()) -> Tuple[Dict[str, float], float]:
    """Train ``config`` from scratch into ``work_dir``, test it; returns (metrics, seconds)."""
    opts = list(cfg_options) + ([f'randomness.seed={seed}'] if seed is not None else [])
    extra = ['--cfg-options', *opts] if opts else []
    start = time.time()
    _run(['tools/train.py', config, '--work-dir', work_dir] + extra,
         log=osp.join(work_dir + '.log'))
    seconds = time.time() - start
    with open(osp.join(work_dir, 'last_checkpoint'), encoding='utf-8') as f:
        checkpoint = f.read().strip()
    return evaluate_checkpoint(config, checkpoint, work_dir, cfg_options), seconds


def spread(runs: List[Dict[str, float]]) -> Dict[str, Dict[str, float]]:
    """Mean, sample standard deviation, min and max of every key over the runs."""
    out = {}
    for key in runs[0]:
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        if len(values) == len(runs):
            out[key] = dict(mean=statistics.fmean(values),
                            std=statistics.stdev(values) if len(values) > 1 else 0.0,
                            min=min(values), max=max(values), n=len(values))
    return out


def fixed_threshold(cfg: Config) -> Optional[float]:
    """``cam_thr`` of the config's FixedThresholdLocMetric (the README's row label)."""
    evaluators = cfg.test_evaluator
    for metric in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
        if metric.get('type') == 'FixedThresholdLocMetric':
            return metric.get('cam_thr')
    return None


def markdown_table(model: Dict[str, float], baselines: Dict[str, Dict[str, float]],
                   model_name: str, cam_thr: Optional[float] = None,
                   runs: Optional[Dict[str, Dict[str, float]]] = None) -> str:
    """The Quick-start table; with ``runs`` (from :func:`spread`) the model cell is
    ``mean ± std (min-max)`` over the runs."""
    header = ['metric', model_name] + [BASELINE_NAMES.get(k, k) for k in baselines]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + ' --- |' * len(header)]
    for key, label in TABLE_KEYS:
        if key not in model and not (runs and key in runs):
            continue
        if runs and key in runs:
            r = runs[key]
            cell = f'{r["mean"]:.2f} ± {r["std"]:.2f} ({r["min"]:.2f}-{r["max"]:.2f})'
        else:
            cell = f'{model[key]:.2f}'
        cell = cell if key.startswith('cls/') else f'**{cell}**'
        others = ['(oracle label)' if key.startswith('cls/') else f'{m[key]:.2f}'
                  for m in baselines.values()]
        lines.append('| ' + ' | '.join([label.format(thr=cam_thr), cell] + others) + ' |')
    return '\n'.join(lines)


def check_table(markdown: str, model: Dict[str, float]) -> List[str]:
    """Rows of ``markdown`` (README.md) whose model number differs from ``model``.

    A row is found by its metric key in backticks; its first number is the
    model's (bold or not). Returns one line per difference (empty = up to date).
    """
    problems = []
    for key, _ in TABLE_KEYS:
        if key not in model:
            continue
        row = re.search(rf'^\|\s*`{re.escape(key)}`[^|]*\|\s*\**\s*([-\d.]+)', markdown,
                        flags=re.M)
        if row is None:
            problems.append(f'{key}: no table row found')
        elif f'{float(row.group(1)):.2f}' != f'{model[key]:.2f}':  # as the table prints
            problems.append(f'{key}: the file says {row.group(1)}, this run gives '
                            f'{model[key]:.2f}')
    return problems
