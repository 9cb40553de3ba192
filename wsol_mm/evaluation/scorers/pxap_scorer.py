"""PxAP / pIoU for mask datasets (OpenImages), torch-free."""
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..functional import (
    SIZE_BINS,
    kernel_bins,
    mask_size_ratio,
    parallel_threads,
    piou_from_histograms,
    pixel_histograms_many,
    pr_curve_from_histograms,
    pxap_from_histograms,
    size_bin_index,
    threshold_list,
)
from ..functional.pxap import GROUP
from .base_scorer import BaseScorer
from .image_pool import eval_threads
from .sample_fields import get_field
from .size_bins_mixin import SizeBinsMixin


class PxAPScorer(SizeBinsMixin, BaseScorer):
    """Pixel average precision, protocol ``wsolevaluation`` (MaskEvaluator).

    Scores of the GT-class map (``pred_cam``, float, no quantisation) are
    histogrammed per image at the ``np.arange(0, 1, interval) + [1, 2, 3]``
    edges for foreground and background pixels (ignore pixels dropped) and
    pooled over the split. ``pxap`` is the right-endpoint area under the pixel
    PR curve; ``piou`` the best pooled pixel IoU over thresholds (TPAMI PxIoU).
    With ``size_bins=True`` each image goes to the bin of its mask's pixel
    fraction and ``size_<a>-<b>`` is the PxAP of that bin's pooled histograms
    (``count_<a>-<b>`` images); ``small``/``medium``/``large`` pool their bins;
    ``size_mean`` averages the bins that hold foreground pixels. The bin of an
    image does not depend on the CAM threshold, so both ``size_bin_rule``
    values give the same numbers.

    Args:
        cam_curve_interval (float): threshold step. Defaults to 0.001.
        size_bins (bool): add per-size keys. Defaults to False.
        size_bin_edges (Sequence[float]): bin edges (percent). Defaults to SIZE_BINS.
        size_groups (dict, optional): grouped keys' percent ranges.
        size_bin_rule (str): accepted for symmetry with the box scorers. Defaults to 'chosen'.
    """
    default_prefix: Optional[str] = 'pxap'
    chunk_size = GROUP  # the maps its kernel scores in one call
    metric_type = 'PxAPMetric'
    protocol = 'wsolevaluation'

    def __init__(self, cam_curve_interval: float = 0.001, size_bins: bool = False,
                 size_bin_edges: Sequence[float] = SIZE_BINS,
                 size_groups: Optional[Dict[str, Tuple[float, float]]] = None,
                 size_bin_rule: str = 'chosen') -> None:
        super().__init__()
        self.cam_curve_interval = cam_curve_interval
        self.thresholds = threshold_list(cam_curve_interval)
        self._bins = kernel_bins(self.thresholds)
        self._init_size_bins(size_bins, size_bin_edges, size_groups, size_bin_rule)

    @property
    def threaded(self) -> bool:
        """Groups of maps on the pool's threads, unless numba's OpenMP threads score each
        group's maps (``pxap.parallel_threads``): then the calling thread takes the whole
        batch and each group runs on ``eval_threads()`` of numba's threads, or on the
        calling thread when that was timed faster (``pxap.GROUP_MODE``)."""
        return parallel_threads(eval_threads()) <= 1

    def record(self, sample: dict) -> dict:
        """``hist``: the foreground and background score histograms of one image, stacked
        ``(2, len(thresholds) + 2)``, uint16 under 65536 pixels (and ``bin``, its size bin)."""
        return self.records([sample])[0]

    def records(self, samples: List[dict]) -> List[dict]:
        """The records of a chunk of images, their maps scored a group per kernel call."""
        name = type(self).__name__
        maps = []  # fields read at once: on threads, a chunk is one group (chunk_size)
        for sample in samples:
            cam, gt = sample.get('pred_cam'), sample.get('gt_mask')
            ignore = sample.get('ignore_mask')
            if (type(cam) is not np.ndarray or type(gt) is not np.ndarray
                    or (ignore is not None and type(ignore) is not np.ndarray)):
                # a tensor, or a missing field: get_field moves it or says what to set
                cam, gt = get_field(sample, 'pred_cam', name), get_field(sample, 'gt_mask', name)
                ignore = get_field(sample, 'ignore_mask', name, required=False)
            maps.append((cam, gt, ignore))
        # uint16 counts for maps under 65536 pixels: keeps records small. A record holds
        # the stacked pair as it is: a view per row made the scorer 1-2 % slower.
        hists = pixel_histograms_many(maps, self.thresholds, self._bins, compact=True,
                                      threads=eval_threads())
        records = [dict(hist=hist) for hist in hists]
        if self.size_bins:
            for record, (_cam, gt, _ignore) in zip(records, maps):
                record['bin'] = int(size_bin_index([mask_size_ratio(gt)],
                                                   self.size_bin_edges)[0])
        return records

    @staticmethod
    def _pooled(results: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        if not results:
            raise RuntimeError('PxAPMetric got no samples')
        hists = np.stack([r['hist'] for r in results]).astype(np.int64)
        return hists[:, 0], hists[:, 1]

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """PxAP and pIoU of the pooled histograms (and per size bin)."""
        fg, bg = self._pooled(results)
        metrics = dict(pxap=pxap_from_histograms(fg.sum(0), bg.sum(0)),
                       piou=piou_from_histograms(fg.sum(0), bg.sum(0)))
        if self.size_bins:
            bins = np.array([r['bin'] for r in results])

            def score(sel: List[int]) -> Tuple[float, int]:
                mask = np.isin(bins, sel)
                if not mask.any() or fg[mask].sum() == 0:
                    return 0.0, 0  # no foreground pixel: PxAP is undefined
                return pxap_from_histograms(fg[mask].sum(0), bg[mask].sum(0)), int(mask.sum())

            metrics.update(self._size_bin_report(score))
        return metrics

    def curves(self, results: List[dict]) -> Dict[str, Any]:
        """Pooled pixel precision and recall per threshold (from high to low)."""
        fg, bg = self._pooled(results)
        precision, recall = pr_curve_from_histograms(fg.sum(0), bg.sum(0))
        return dict(precision=precision.tolist(), recall=recall.tolist())
