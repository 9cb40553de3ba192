"""Figures of ``analyze_results.py``: size-bin gallery and IoU-vs-object-size scatter."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np

from .figures import (
    GT_COLOR,
    PRED_COLOR,
    class_name,
    draw_boxes,
    figure_to_rgb,
    new_figure,
    overlay,
    show_image,
)
from .prediction_view import PredictionView

__all__ = ['draw_size_gallery', 'draw_iou_vs_size']

_OK, _BAD = '#1a9641', '#d7191c'


def _read_rgb(path: Optional[str]) -> np.ndarray:
    if not path or not osp.isfile(path):
        raise FileNotFoundError(f'image {path} of the results file not found (the gallery '
                                'reads the original images; run where the dataset is)')
    return mmcv.imread(path, channel_order='rgb')


def _thumbnail(ax, record: dict, row: dict, cam_thr: float, multi_contour: bool,
               iou_thr: float, classes: Optional[Sequence[str]]) -> None:
    view = PredictionView.from_sample(record, cam_thr, multi_contour)
    image = _read_rgb(record.get('img_path'))
    show_image(ax, overlay(image, view.cam))
    draw_boxes(ax, view.gt_boxes, GT_COLOR, linewidth=2)
    draw_boxes(ax, view.pred_boxes, PRED_COLOR, dashed=True, linewidth=2)
    ok = row['iou'] >= iou_thr / 100
    ax.set_title(f'IoU {row["iou"]:.2f}', fontsize=10, color=_OK if ok else _BAD,
                 fontweight='bold')
    name = osp.basename(str(row['img_id']))
    cls = ''
    if row.get('cls_correct') is False:
        cls = f'\npred {class_name(row["pred_label"], classes)}'
    ax.set_xlabel(f'{name[:26]}  {row["size_percent"]:.1f}%{cls}', fontsize=7.5)


def draw_size_gallery(bins: List[Dict[str, object]], bin_names: Sequence[str],
                      records: Sequence[dict], cam_thr: float, iou_thr: float,
                      multi_contour: bool, topk: int, classes: Optional[Sequence[str]] = None,
                      title: str = '') -> np.ndarray:
    """One row per non-empty size bin (small first): ``topk`` best, then ``topk`` worst.

    Args:
        bins (list[dict]): output of :func:`wsol_mm.apis.split_by_size`.
        bin_names (Sequence[str]): names of the bins (``size_<a>-<b>``).
        records (Sequence[dict]): the results records (indexed by ``row['index']``).
        cam_thr (float): the CAM threshold of the drawn boxes and IoUs.
        iou_thr (float): IoU threshold in percent (green / red titles).
        multi_contour (bool): MaxBoxAccV2 boxes (the best-matching contour's box).
        topk (int): columns per side.
        classes (Sequence[str], optional): class names.
        title (str): figure title.

    Returns:
        np.ndarray: the RGB figure.
    """
    filled = [b for b in bins if b['count']]
    if not filled:
        raise ValueError('no image in any size bin')
    cell, label_w = 2.1, 1.7
    width = label_w + 2 * topk * cell + 0.4
    height = 1.1 + len(filled) * (cell + 0.55)
    fig = new_figure(width, height)
    grid = fig.add_gridspec(len(filled), 2 * topk, left=label_w / width, right=1 - 0.1 / width,
                            top=1 - 0.9 / height, bottom=0.2 / height, wspace=0.06,
                            hspace=0.45)
    for r, info in enumerate(filled):
        lo_hi = bin_names[info['bin']].replace('size_', '')
        fig.text(0.12 / width, 1 - (0.9 + (r + 0.5) * (cell + 0.55)) / height,
                 f'size {lo_hi} %\n{info["count"]} images\nacc {info["accuracy"]:.0f} %\n'
                 f'mean IoU {info["mean_iou"]:.2f}', fontsize=10, va='center')
        for side, items in ((0, info['best']), (topk, info['worst'])):
            for c in range(topk):
                ax = fig.add_subplot(grid[r, side + c])
                if c >= len(items):
                    ax.axis('off')
                    continue
                row = items[c]
                _thumbnail(ax, records[row['index']], row, cam_thr, multi_contour, iou_thr,
                           classes)
    for side, text in ((0.0, f'best {topk} (highest IoU)'), (0.5, f'worst {topk} (lowest IoU)')):
        x = (label_w + (side * 2 * topk + topk / 2) * cell) / width
        fig.text(x, 1 - 0.62 / height, text, ha='center', fontsize=12, fontweight='bold')
    empty = [bin_names[b['bin']].replace('size_', '') for b in bins if not b['count']]
    boxes = 'best-matching contour box' if multi_contour else 'largest-contour box'
    note = f'green: GT, magenta dashed: {boxes} at CAM > {cam_thr:.3f}'
    if empty:
        note += f';  empty bins: {", ".join(empty)} %'
    fig.suptitle(f'{title}\n{note}' if title else note, fontsize=11, y=1 - 0.05 / height,
                 va='top')
    return figure_to_rgb(fig)


def draw_iou_vs_size(analysis: Dict[str, object], bins: List[Dict[str, object]],
                     title: str = '') -> np.ndarray:
    """Scatter of per-image IoU against object size, with bin edges and per-bin accuracy.

    Args:
        analysis (dict): output of :func:`wsol_mm.apis.per_image_localization`.
        bins (list[dict]): output of :func:`wsol_mm.apis.split_by_size`.
        title (str): figure title.

    Returns:
        np.ndarray: the RGB figure.
    """
    rows = analysis['rows']
    edges = np.asarray(analysis['bin_edges'], np.float64)
    sizes = np.array([r['size_percent'] for r in rows])
    ious = np.array([r['iou'] for r in rows])
    cls = np.array([r['cls_correct'] is not False for r in rows])
    fig = new_figure(10, 5.8)
    ax = fig.add_axes([0.08, 0.11, 0.74, 0.7])
    ax.scatter(sizes[cls], ious[cls], s=22, c='#2b83ba', alpha=0.75, label='class correct')
    ax.scatter(sizes[~cls], ious[~cls], s=26, c='#fdae61', marker='x', alpha=0.9,
               label='class wrong')
    ax.axhline(analysis['iou_thr'] / 100, color='0.3', linestyle='--', linewidth=1,
               label=f'IoU {analysis["iou_thr"]:g} %')
    # the default bins are squares (0, 1, 4, ... 100): a square-root axis spaces them evenly
    ax.set_xscale('function', functions=(lambda x: np.sqrt(np.clip(x, 0, None)), np.square))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xticks(edges)
    ax.set_xticklabels([f'{e:g}' for e in edges])
    ax.set_ylim(-0.02, 1.02)
    for edge in edges[1:-1]:
        ax.axvline(edge, color='0.8', linewidth=0.8, zorder=0)
    for info, a, b in zip(bins, edges[:-1], edges[1:]):
        mid = ((np.sqrt(a) + np.sqrt(b)) / 2) ** 2
        text = 'empty' if not info['count'] else f'{info["accuracy"]:.0f}%\nn={info["count"]}'
        ax.text(mid, 1.01, text, ha='center', va='bottom', fontsize=8.5,
                transform=ax.get_xaxis_transform(), color='0.55' if not info['count'] else 'k')
    ax.set_xlabel('object size: % of the image area (square-root axis; the GT box matched '
                  'at the evaluated threshold)')
    ax.set_ylabel('IoU at the evaluated CAM threshold')
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)
    kind = 'MaxBoxAccV2 boxes' if analysis['multi_contour'] else 'MaxBoxAcc v1 boxes'
    ax.set_title(f'{title}\nCAM threshold {analysis["cam_thr"]:.3f} ({kind}); per-bin '
                 'accuracy and count on top', fontsize=11, pad=30)
    ax.grid(axis='y', color='0.9')
    return figure_to_rgb(fig)
