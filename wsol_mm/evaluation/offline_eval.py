"""Offline evaluation of stored score maps (wsolevaluation layout); used by eval_cams.py."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from .functional import (
    SIZE_BINS,
    box_correct_counts,
    box_record,
    box_size_ratios,
    group_bin_indices,
    load_scoremap,
    maxboxacc,
    piou_from_histograms,
    pixel_histograms,
    pxap_from_histograms,
    read_wsol_split,
    rescale_boxes,
    size_bin_accuracy,
    size_bin_index,
    size_bin_names,
    threshold_list,
)

__all__ = ['evaluate_scoremaps', 'plot_results']
_SIZE = 224


def _load_mask(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise FileNotFoundError(f'Cannot read mask {path}')
    img = cv2.resize(img.astype(np.float64) / 255.0, (_SIZE, _SIZE),
                     interpolation=cv2.INTER_NEAREST)
    return img > 0.5


def _box_summary(prefix: str, records: List[dict], thrs: np.ndarray, iou_thrs: Sequence[int],
                 out: dict, size: bool) -> None:
    acc = maxboxacc(box_correct_counts(records, thrs, len(iou_thrs)), len(records))
    for i, t in enumerate(iou_thrs):
        out[f'{prefix}/iou{t}'] = float(acc['max'][i])
        out[f'{prefix}/best_thr_iou{t}'] = float(thrs[acc['best_idx'][i]])
        out.setdefault('curves', {})[f'{prefix}/iou{t}'] = acc['curves'][i].tolist()
    if len(iou_thrs) > 1:
        out[f'{prefix}/mean'] = float(acc['max'].mean())
    if size:
        st = size_bin_accuracy(records, thrs, len(iou_thrs), len(SIZE_BINS) - 1, acc['best_idx'])
        c, k = st['count'], st['correct']

        def score(bins: List[int]) -> float:
            cc, kk = c[:, bins].sum(1), k[:, bins].sum(1)
            return float(np.mean(np.where(cc > 0, 100.0 * kk / np.maximum(cc, 1), 0.0)))

        vals = []
        for b, name in enumerate(size_bin_names()):
            out[f'{prefix}/{name}'] = score([b])
            if c[:, b].min() > 0:
                vals.append(out[f'{prefix}/{name}'])
        for g, bins in group_bin_indices().items():
            out[f'{prefix}/{g}'] = score(bins)
        out[f'{prefix}/size_mean'] = float(np.mean(vals)) if vals else 0.0


def evaluate_scoremaps(metadata_root: str, dataset: str, split: str, scoremap_root: str,
                       mask_root: Optional[str] = None, interval: float = 0.001,
                       metrics: Sequence[str] = ('maxboxacc', 'maxboxaccv2', 'pxap', 'size'),
                       progress: bool = True) -> Dict:
    """Evaluate ``<scoremap_root>/<image_id>.npy`` maps against a wsolevaluation split.

    Args:
        metadata_root (str): folder with ``<dataset>/<split>/*.txt``.
        dataset (str): ``CUB``, ``ILSVRC`` or ``OpenImages``.
        split (str): ``val`` or ``test``.
        scoremap_root (str): score-map folder (224 x 224 maps in [0, 1]).
        mask_root (str, optional): mask root (OpenImages; ``OpenImages/`` is appended).
        interval (float): CAM threshold step. Defaults to 0.001.
        metrics (Sequence[str]): subset of maxboxacc, maxboxaccv2, pxap, size.
        progress (bool): show a tqdm bar. Defaults to True.

    Returns:
        dict: metric keys as in the design doc, plus ``curves`` and ``num_images``.
    """
    meta = read_wsol_split(metadata_root, dataset, split)
    thrs = threshold_list(interval)
    size = 'size' in metrics
    is_mask = dataset == 'OpenImages'
    ids = meta.image_ids
    if progress:
        from tqdm import tqdm
        ids = tqdm(ids, desc='scoring', unit='img')
    v1, v2, fgs, bgs, mask_bins = [], [], [], [], []
    for img_id in ids:
        cam = load_scoremap(scoremap_root, img_id)
        if is_mask:
            if mask_root is None:
                raise ValueError('OpenImages needs --mask-root')
            root = osp.join(mask_root, 'OpenImages')
            gt = np.zeros((_SIZE, _SIZE), bool)
            for p in meta.mask_paths.get(img_id, []):
                gt |= _load_mask(osp.join(root, p))
            ign_path = meta.ignore_paths.get(img_id)
            ignore = _load_mask(osp.join(root, ign_path)) if ign_path else None
            fg, bg = pixel_histograms(cam, gt, ignore, thrs)
            fgs.append(fg)
            bgs.append(bg)
            mask_bins.append(size_bin_index([100.0 * gt.mean()])[0])
            continue
        if img_id not in meta.boxes or img_id not in meta.sizes:
            raise ValueError(f'No box or image size for {img_id!r} in the {dataset} metadata')
        ori = np.array(meta.boxes[img_id])
        w, h = meta.sizes[img_id]
        boxes = rescale_boxes(ori, (w, h), (_SIZE, _SIZE))
        bins = size_bin_index(box_size_ratios(ori, (h, w))) if size else None
        if 'maxboxacc' in metrics:
            v1.append(box_record(cam, boxes, False, (50, ), bins))
        if 'maxboxaccv2' in metrics or size:
            v2.append(box_record(cam, boxes, True, (30, 50, 70), bins))
    out = dict(num_images=len(meta.image_ids), cam_curve_interval=interval,
               thresholds=thrs.tolist(), curves={})
    if v1:
        _box_summary('maxboxacc', v1, thrs, (50, ), out, False)
    if v2:
        _box_summary('maxboxaccv2', v2, thrs, (30, 50, 70), out, size)
    if fgs:
        fg, bg = np.sum(fgs, 0), np.sum(bgs, 0)
        out['pxap/pxap'] = pxap_from_histograms(fg, bg)
        out['pxap/piou'] = piou_from_histograms(fg, bg)
        tp, fp = np.cumsum(fg[::-1]), np.cumsum(bg[::-1])
        with np.errstate(divide='ignore', invalid='ignore'):
            out['curves']['pxap/precision'] = np.nan_to_num(tp / (tp + fp)).tolist()
        out['curves']['pxap/recall'] = (tp / tp[-1]).tolist()
        if size:
            mb = np.array(mask_bins)
            for b, name in enumerate(size_bin_names()):
                sel = mb == b
                ok = sel.any() and np.sum(np.array(fgs)[sel]) > 0
                out[f'pxap/{name}'] = pxap_from_histograms(
                    np.sum(np.array(fgs)[sel], 0), np.sum(np.array(bgs)[sel], 0)) if ok else 0.0
    return out


def plot_results(results: Dict, plot_dir: str) -> List[str]:
    """Write BoxAcc-vs-threshold, pixel PR and size-bin PNGs (matplotlib Agg)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    os.makedirs(plot_dir, exist_ok=True)
    thrs, curves, paths = results['thresholds'], results['curves'], []
    box_keys = [k for k in curves if k.startswith('maxbox')]
    if box_keys:
        fig, ax = plt.subplots(figsize=(6, 4))
        for k in box_keys:
            ax.plot(thrs, curves[k], label=k)
        ax.set(xlabel='CAM threshold', ylabel='BoxAcc (%)', title='BoxAcc vs CAM threshold')
        ax.legend()
        paths.append(osp.join(plot_dir, 'boxacc_vs_threshold.png'))
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
    if 'pxap/precision' in curves:
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot(curves['pxap/recall'], curves['pxap/precision'])
        ax.set(xlabel='recall', ylabel='precision', title=f"PxAP {results['pxap/pxap']:.2f}")
        paths.append(osp.join(plot_dir, 'pixel_pr_curve.png'))
        fig.savefig(paths[-1], dpi=80)
        plt.close(fig)
    names = size_bin_names()
    for prefix in ('maxboxaccv2', 'pxap'):
        if f'{prefix}/{names[0]}' in results:
            fig, ax = plt.subplots(figsize=(7, 4))
            ax.bar([n[5:] for n in names], [results[f'{prefix}/{n}'] for n in names])
            ax.set(xlabel='GT size (% of image)', ylabel='accuracy (%)', title=prefix)
            paths.append(osp.join(plot_dir, f'{prefix}_size_bins.png'))
            fig.savefig(paths[-1], dpi=80)
            plt.close(fig)
    return paths
