"""Per-image localisation of a results file, by object size (``analyze_results.py``).

All the maths is the evaluator's (:mod:`wsol_mm.evaluation.functional`): the CAM
threshold is chosen as MaxBoxAcc(V2) chooses it, the per-image IoU is the best IoU at
that threshold, and the size bin is the one of the GT box that reaches it.
"""
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from wsol_mm.evaluation.functional import (
    SIZE_BINS,
    best_ious_at_thresholds,
    box_correct_counts,
    box_record,
    box_size_ratios,
    maxboxacc,
    size_bin_index,
    size_bin_names,
    threshold_list,
)
from wsol_mm.utils.frames import gt_boxes_original

__all__ = ['best_cam_threshold', 'per_image_localization', 'split_by_size']


def _gt_boxes(record: dict, index: int) -> np.ndarray:
    boxes = record.get('gt_bboxes')
    if boxes is None or not len(np.asarray(boxes).reshape(-1, 4)):
        raise ValueError(f'record {index} ({record.get("img_id", "?")}) has no gt_bboxes: '
                         'analyze_results needs a box dataset (CUB, ImageNet, SyntheticWSOL)')
    return np.asarray(boxes, np.float64).reshape(-1, 4)


def best_cam_threshold(records: Sequence[dict], iou_thr: float = 50,
                       multi_contour: bool = True, cam_curve_interval: float = 0.001) -> float:
    """The CAM threshold where BoxAcc at ``iou_thr`` peaks, as the metrics choose it.

    Args:
        records (Sequence[dict]): results records (``pred_cam``, ``gt_bboxes``).
        iou_thr (float): IoU threshold in percent. Defaults to 50.
        multi_contour (bool): MaxBoxAccV2 (True) or v1 boxes. Defaults to True.
        cam_curve_interval (float): threshold step. Defaults to 0.001 (the metrics').

    Returns:
        float: the threshold.
    """
    thresholds = threshold_list(cam_curve_interval)
    summaries = [box_record(r['pred_cam'], _gt_boxes(r, i), multi_contour, (iou_thr, ))
                 for i, r in enumerate(records)]
    acc = maxboxacc(box_correct_counts(summaries, thresholds, 1), len(summaries))
    return float(thresholds[acc['best_idx'][0]])


def per_image_localization(records: Sequence[dict], cam_thr: Union[str, float] = 'best',
                           iou_thr: float = 50, multi_contour: bool = True,
                           size_bin_edges: Sequence[float] = SIZE_BINS,
                           cam_curve_interval: float = 0.001) -> Dict[str, object]:
    """IoU of every image at one CAM threshold, with its object size and size bin.

    Args:
        records (Sequence[dict]): records of a ``tools/test.py --out`` file.
        cam_thr (str | float): a threshold, or ``'best'`` (the one MaxBoxAcc(V2)
            picks on these records at ``iou_thr``). Defaults to 'best'.
        iou_thr (float): IoU threshold in percent of a correct box. Defaults to 50.
        multi_contour (bool): all contours (MaxBoxAccV2) or the largest (v1).
        size_bin_edges (Sequence[float]): bin edges in percent of the image area.
        cam_curve_interval (float): threshold step of ``'best'``. Defaults to 0.001.

    Returns:
        dict: ``cam_thr`` (float), ``iou_thr``, ``multi_contour``, ``bin_names`` and
        ``rows`` (one dict per image: ``index``, ``img_id``, ``img_path``, ``iou``,
        ``loc_correct``, ``size_percent``, ``size_bin``, ``gt_label``,
        ``pred_label``, ``cls_correct``).
    """
    if not records:
        raise ValueError('the results file has no records')
    if cam_thr == 'best':
        cam_thr = best_cam_threshold(records, iou_thr, multi_contour, cam_curve_interval)
    cam_thr = float(cam_thr)
    rows = []
    for i, record in enumerate(records):
        gts = _gt_boxes(record, i)
        ious, gt_idx = best_ious_at_thresholds(record['pred_cam'], gts, [cam_thr],
                                               multi_contour)
        ori = gt_boxes_original(record, gts)
        ratio = float(box_size_ratios(ori, record['ori_shape'][:2])[int(gt_idx[0])])
        gt_label, pred_label = record.get('gt_label'), record.get('pred_label')
        rows.append(dict(index=i, img_id=record.get('img_id', str(i)),
                         img_path=record.get('img_path'), iou=float(ious[0]),
                         loc_correct=bool(ious[0] >= iou_thr / 100), size_percent=ratio,
                         size_bin=int(size_bin_index([ratio], size_bin_edges)[0]),
                         gt_label=gt_label, pred_label=pred_label,
                         cls_correct=None if gt_label is None or pred_label is None
                         else gt_label == pred_label))
    return dict(cam_thr=cam_thr, iou_thr=iou_thr, multi_contour=multi_contour,
                bin_names=size_bin_names(size_bin_edges), bin_edges=tuple(size_bin_edges),
                rows=rows)


def split_by_size(rows: List[dict], num_bins: int, topk: int) -> List[Dict[str, object]]:
    """Best and worst images of every size bin (small objects first).

    Within a bin images are ranked by IoU (ties by index); the ``topk`` highest are
    ``best`` and the ``topk`` lowest ``worst``, never the same image twice (a bin
    with fewer than ``2 * topk`` images is split in halves, best getting the odd one).

    Returns:
        list[dict]: per bin ``bin``, ``count``, ``accuracy`` (percent of IoU >=
        threshold; None when empty), ``mean_iou``, ``best`` / ``worst`` (rows).
    """
    out: List[Dict[str, object]] = []
    for b in range(num_bins):
        members = sorted((r for r in rows if r['size_bin'] == b),
                         key=lambda r: (-r['iou'], r['index']))
        n_best = min(topk, (len(members) + 1) // 2)
        n_worst = min(topk, len(members) - n_best)
        accuracy: Optional[float] = None
        mean_iou: Optional[float] = None
        if members:
            accuracy = 100.0 * sum(r['loc_correct'] for r in members) / len(members)
            mean_iou = float(np.mean([r['iou'] for r in members]))
        out.append(dict(bin=b, count=len(members), accuracy=accuracy, mean_iou=mean_iou,
                        best=members[:n_best],
                        worst=list(reversed(members[len(members) - n_worst:]))))
    return out
