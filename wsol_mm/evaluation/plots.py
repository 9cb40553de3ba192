"""Figures of an offline evaluation (the dict of :func:`evaluate_scoremaps` or its JSON).

Written with matplotlib's Agg backend, imported only when plotting.
"""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ['build_figures', 'plot_results', 'SIZE_BIN_YLABELS']

#: y-axis label of the size-bin plot of each metric type
SIZE_BIN_YLABELS = {
    'MaxBoxAccMetric': 'MaxBoxAcc (%)',
    'MaxBoxAccV2Metric': 'MaxBoxAccV2 (%), mean of IoU 30/50/70',
    'PxAPMetric': 'PxAP (%)',
    'FixedThresholdLocMetric': 'GT-known Loc (%) at the fixed threshold',
    'ThresholdSweepLocMetric': 'GT-known Loc (%), top-1 map, best threshold',
}
# v1 dashed with markers, drawn on top of the solid V2 lines: both stay visible when equal
_V1_STYLE = dict(color='black', ls='--', lw=2.2, marker='o')
_V2_COLORS = {'iou30': 'tab:blue', 'iou50': 'tab:orange', 'iou70': 'tab:green'}
_PROTOCOL_TITLES = {'ThresholdSweepLocMetric': 'sweep protocol (top-K predicted maps, oracle '
                    'threshold per key)',
                    'FixedThresholdLocMetric': 'fixed protocol (one CAM threshold)'}


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


# curves that may coincide (e.g. top5 == gt_known): thick solid below, thinner dashed on top
_CYCLE = (dict(ls='-', lw=3.2, alpha=0.6), dict(ls='--', lw=2.0, marker='o'),
          dict(ls='-.', lw=1.6, marker='s'), dict(ls=':', lw=1.6, marker='^'))


def _curve_plot(plt, curves: List[Tuple[str, Sequence[float], list, dict]], title: str,
                ylabel: str, marks: Optional[List[Tuple[float, str]]] = None):
    """Curves ``(name, thresholds, values, style)`` vs CAM threshold, best ones marked.

    A vertical mark (the fixed protocol's threshold) also gets a hollow dot on each curve.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, (name, thresholds, values, style) in enumerate(curves):
        style = dict(style or _CYCLE[i % len(_CYCLE)])
        best = max(range(len(values)), key=values.__getitem__)  # first argmax, as the metrics
        every = max(1, len(values) // 12)
        line, = ax.plot(thresholds, values, markevery=every, markersize=4, zorder=3 + i,
                        label=f'{name}: max {values[best]:.2f} at {thresholds[best]:.3g}',
                        **style)
        ax.plot([thresholds[best]], [values[best]], marker='*', markersize=14, ls='none',
                color=line.get_color(), markeredgecolor='white', zorder=10)
        for x, _ in marks or []:
            j = min(range(len(thresholds)), key=lambda k: abs(thresholds[k] - x))
            ax.plot([thresholds[j]], [values[j]], marker='o', markersize=8, ls='none',
                    markerfacecolor='none', markeredgecolor=line.get_color(), zorder=10)
    for x, text in marks or []:
        ax.axvline(x, color='grey', ls=':', lw=1.2)
        ax.text(x, 1.0, f' {text}', transform=ax.get_xaxis_transform(), va='top', fontsize=8)
    ax.set(xlabel='CAM threshold', ylabel=ylabel, xlim=(0, 1), ylim=(0, 102), title=title)
    ax.grid(alpha=0.3)
    ax.plot([], [], marker='*', ls='none', color='grey', markersize=10, label='best threshold')
    if marks:
        ax.plot([], [], marker='o', ls='none', markerfacecolor='none', color='grey',
                label='value at the fixed threshold')
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _size_plot(plt, results: Dict[str, Any], prefix: str, title: str, ylabel: str):
    names = [k[len(prefix) + 1:] for k in results if k.startswith(f'{prefix}/size_')
             and k != f'{prefix}/size_mean']
    groups = [g for g in ('small', 'medium', 'large') if f'{prefix}/{g}' in results]
    labels = [n[5:] for n in names] + groups
    keys = names + groups
    values = [results[f'{prefix}/{k}'] for k in keys]
    counts = [results.get(f'{prefix}/count_{k}') for k in keys]
    fig, ax = plt.subplots(figsize=(max(7.0, 0.6 * len(keys) + 2), 4.2))
    xs = [i + (0.6 if i >= len(names) else 0) for i in range(len(keys))]  # gap before groups
    for x, v, c, k in zip(xs, values, counts, keys):
        color = 'tab:blue' if k in names else 'tab:purple'
        if c == 0:  # empty: no bar, a dashed frame, not a 0 % bar
            ax.bar(x, 100, width=0.8, fill=False, hatch='//', edgecolor='lightgrey', ls='--')
            ax.text(x, 50, 'empty', ha='center', va='center', rotation=90, color='grey')
        else:
            ax.bar(x, v, width=0.8, color=color)
            ax.text(x, v + 1, f'{v:.1f}', ha='center', va='bottom', fontsize=7)
    ticks = [f'{lab}\nn={c}' if c is not None else lab for lab, c in zip(labels, counts)]
    ax.set_xticks(xs, ticks, fontsize=7)
    mean = results.get(f'{prefix}/size_mean')
    if mean is not None:
        ax.axhline(mean, color='grey', ls=':', lw=1, label=f'size_mean {mean:.2f} (non-empty '
                   'bins)')
        ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set(xlabel='GT size (% of image area); n = images in the bin', ylim=(0, 108),
           ylabel=ylabel, title=title)
    return fig


def build_figures(results: Dict[str, Any], title: str = '') -> Dict[str, Any]:
    """The figures of an evaluation, by file name.

    ``boxacc_vs_threshold.png`` (MaxBoxAcc v1 and V2 curves), ``pxap_pr_curve.png``,
    ``sweep_vs_threshold.png``, ``loc_vs_threshold.png`` (fixed protocol, when its
    curves were recorded) and ``<prefix>_size_bins.png`` per metric with size bins.

    Args:
        results (dict): evaluation results (metric keys, ``curves``, ``thresholds``,
            ``settings``), as returned by ``evaluate_scoremaps`` or read from its JSON.
        title (str): first title line (model and split). Defaults to ''.

    Returns:
        dict: file name -> matplotlib figure.
    """
    plt = _pyplot()
    curves, thrs, figs = results.get('curves', {}), results.get('thresholds', {}), {}
    settings = results.get('settings', {})
    head = f'{title}\n' if title else ''
    by_type: Dict[str, str] = {}  # the first prefix of each metric type
    for prefix, opts in settings.items():
        by_type.setdefault(opts.get('type', prefix), prefix)

    def mine(prefix: str) -> List[Tuple[str, list]]:
        return [(k.split('/', 1)[1], v) for k, v in curves.items() if k.startswith(f'{prefix}/')]

    box = []
    if 'MaxBoxAccV2Metric' in by_type:
        p = by_type['MaxBoxAccV2Metric']
        box += [(f'V2 {n}', thrs[p], v, dict(color=_V2_COLORS.get(n), lw=1.4))
                for n, v in mine(p)]
    if 'MaxBoxAccMetric' in by_type:
        p = by_type['MaxBoxAccMetric']
        box += [(f'v1 {n}', thrs[p], v, _V1_STYLE) for n, v in mine(p)]
    if box:
        fig = _curve_plot(plt, box, f'{head}BoxAcc vs CAM threshold', 'BoxAcc (%)')
        figs['boxacc_vs_threshold.png'] = fig
    for kind, name in (('ThresholdSweepLocMetric', 'sweep'), ('FixedThresholdLocMetric', 'loc')):
        p = by_type.get(kind)
        if p is None or not mine(p):
            continue
        cam_thr = settings[p].get('cam_thr')
        marks = [(cam_thr, f'fixed threshold {cam_thr:g}')] if cam_thr is not None else None
        fig = _curve_plot(plt, [(n, thrs[p], v, {}) for n, v in mine(p)],
                          f'{head}{_PROTOCOL_TITLES[kind]}', 'accuracy (%)', marks)
        figs[f'{name}_vs_threshold.png'] = fig
    p = by_type.get('PxAPMetric')
    if p is not None and f'{p}/precision' in curves:
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
        ax.plot(curves[f'{p}/recall'], curves[f'{p}/precision'], color='tab:blue')
        ax.set(xlabel='pixel recall', ylabel='pixel precision', xlim=(0, 1.01), ylim=(0, 1.02),
               title=f"{head}PxAP {results[f'{p}/pxap']:.2f}, pIoU {results[f'{p}/piou']:.2f}")
        ax.grid(alpha=0.3)
        figs['pxap_pr_curve.png'] = fig
    for prefix, opts in settings.items():
        if f'{prefix}/size_mean' in results:
            kind = opts.get('type', '')
            rule = opts.get('size_bin_rule', 'chosen')
            fig = _size_plot(plt, results, prefix, f'{head}{prefix} by object size (empty-bin '
                             f'rule: {rule})', SIZE_BIN_YLABELS.get(kind, prefix))
            figs[f'{prefix}_size_bins.png'] = fig
    return figs


def plot_results(results: Dict[str, Any], plot_dir: str, title: str = '') -> List[str]:
    """Write the figures of :func:`build_figures` as PNGs and return their paths."""
    plt = _pyplot()
    os.makedirs(plot_dir, exist_ok=True)
    paths = []
    for name, fig in build_figures(results, title).items():
        paths.append(osp.join(plot_dir, name))
        fig.savefig(paths[-1], dpi=110, bbox_inches='tight')
        plt.close(fig)
    return paths
