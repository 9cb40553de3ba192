"""Training curves and training time from mmengine's ``vis_data/scalars.json``."""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .figures import figure_to_rgb, new_figure

__all__ = ['find_scalars', 'load_scalars', 'curve', 'plot_curves', 'train_time_stats']


def find_scalars(path: str) -> str:
    """``path`` itself if it is a file, else the newest ``vis_data/scalars.json`` under it."""
    if osp.isfile(path):
        return path
    found = glob.glob(osp.join(path, '**', 'vis_data', 'scalars.json'), recursive=True)
    if not osp.isdir(path) or not found:
        raise FileNotFoundError(f'{path}: no scalars.json (give the file, or a work dir / run '
                                'folder with vis_data/scalars.json)')
    return max(found, key=osp.getmtime)


def load_scalars(path: str) -> Dict[str, List[dict]]:
    """Split a scalars file into ``train`` (records with ``iter``) and ``val`` records.

    Raises:
        ValueError: naming the file and line of a record that is not JSON.
    """
    path = find_scalars(path)
    train, val = [], []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}:{lineno}: not a JSON record ({err})') from None
            (train if 'iter' in record else val).append(record)
    return dict(train=train, val=val, path=path)


def curve(log: Dict[str, List[dict]], key: str) -> Tuple[np.ndarray, np.ndarray, str]:
    """``(x, y, x_label)`` of ``key``: training keys by iteration, val metrics by epoch."""
    for part, x_key, label in (('train', 'iter', 'iteration'), ('val', 'step', 'epoch')):
        points = [(r[x_key], r[key]) for r in log[part] if key in r]
        if points:
            x, y = zip(*points)
            return np.asarray(x, np.float64), np.asarray(y, np.float64), label
    keys = sorted({k for part in ('train', 'val') for r in log[part] for k in r})
    raise KeyError(f'{log.get("path", "log")} has no key {key!r}; keys: {", ".join(keys)}')


def plot_curves(logs: Sequence[Dict[str, List[dict]]], keys: Sequence[str],
                legend: Optional[Sequence[str]] = None,
                title: str = '') -> Tuple[np.ndarray, Dict[str, Tuple[np.ndarray, np.ndarray]]]:
    """One panel per x axis (iterations, epochs); a line per (log, key).

    Validation metrics get their best value marked (highest, or lowest for keys
    containing ``loss``).

    Args:
        logs (Sequence[dict]): outputs of :func:`load_scalars`.
        keys (Sequence[str]): the keys to plot.
        legend (Sequence[str], optional): one name per (log, key) line.
        title (str): figure title.

    Returns:
        tuple: the RGB figure and ``{line name: (x, y)}`` as plotted.
    """
    lines = []
    for log in logs:
        for key in keys:
            x, y, axis = curve(log, key)
            run = osp.basename(osp.dirname(osp.dirname(log['path'])))  # the timestamp folder
            name = key if len(logs) == 1 else f'{run}: {key}'
            lines.append((name, x, y, axis))
    if legend is not None:
        if len(legend) != len(lines):
            raise ValueError(f'--legend has {len(legend)} names for {len(lines)} curves')
        lines = [(n, x, y, a) for n, (_, x, y, a) in zip(legend, lines)]
    axes_names = [a for a in ('iteration', 'epoch') if any(line[3] == a for line in lines)]
    fig = new_figure(6.4 * len(axes_names) + 0.6, 4.6)
    axes = {a: fig.add_subplot(1, len(axes_names), i + 1) for i, a in enumerate(axes_names)}
    for name, x, y, axis in lines:
        ax = axes[axis]
        style = dict(marker='o', markersize=4) if axis == 'epoch' else {}
        (line, ) = ax.plot(x, y, label=name, linewidth=1.6, **style)
        if axis == 'epoch' and len(y):
            best = int(np.argmin(y) if 'loss' in name else np.argmax(y))
            ax.scatter([x[best]], [y[best]], s=90, facecolors='none',
                       edgecolors=line.get_color(), linewidths=2, zorder=3)
            right = best >= len(y) / 2  # keep the note inside the axes
            ax.annotate(f'best {y[best]:.2f} @ {x[best]:g}', (x[best], y[best]),
                        textcoords='offset points', xytext=(-8 if right else 8, 8),
                        ha='right' if right else 'left', fontsize=8, color=line.get_color())
    for axis, ax in axes.items():
        ax.set_xlabel(axis)
        names = sorted({k for k in keys if any(n.endswith(k) and a == axis
                                               for n, _, _, a in lines)})
        ax.set_ylabel(', '.join(names))
        ax.grid(color='0.9')
        ax.margins(x=0.04, y=0.14)  # room for the best-value note
        ax.legend(fontsize=9)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    return figure_to_rgb(fig), {n: (x, y) for n, x, y, _ in lines}


def train_time_stats(log: Dict[str, List[dict]], include_outliers: bool = False) -> dict:
    """Iteration time per epoch (``time`` of the training records).

    The first logged iteration of each epoch (data loader warm-up) is left out
    unless ``include_outliers``.

    Returns:
        dict: ``per_epoch`` ``{epoch: mean s/iter}``, ``slowest`` / ``fastest``
        ``(epoch, s/iter)``, ``std`` over epochs, ``mean`` s/iter over all kept records.
    """
    by_epoch: Dict[int, List[float]] = {}
    for record in log['train']:
        if 'time' in record:
            by_epoch.setdefault(int(record.get('epoch', 0)), []).append(float(record['time']))
    if not by_epoch:
        raise ValueError(f'{log.get("path", "log")} has no training records with `time`')
    kept = {e: (t if include_outliers or len(t) == 1 else t[1:]) for e, t in by_epoch.items()}
    means = {e: float(np.mean(t)) for e, t in kept.items()}
    slowest = max(means.items(), key=lambda kv: kv[1])
    fastest = min(means.items(), key=lambda kv: kv[1])
    return dict(per_epoch=means, slowest=slowest, fastest=fastest,
                std=float(np.std(list(means.values()))),
                mean=float(np.mean([v for t in kept.values() for v in t])))
