"""Pure numpy / OpenCV / numba evaluation maths (no mmengine imports)."""
from .box_accuracy import box_correct_counts, box_record, maxboxacc, size_bin_accuracy
from .box_ops import box_iou, check_box_convention, check_scoremap, quantize_cam, rescale_boxes
from .cutoff_scan import (
                          HAS_NUMBA,
                          best_ious_at_thresholds,
                          scan_cutoffs,
                          threshold_cutoffs,
                          threshold_list,
)
from .pxap import histogram_edges, piou_from_histograms, pixel_histograms, pxap_from_histograms
from .reference import contour_boxes, reference_best_ious, reference_boxes, reference_histograms
from .scoremap_io import load_scoremap, save_scoremap
from .size_bins import (
                          SIZE_BINS,
                          SIZE_GROUPS,
                          box_size_ratios,
                          group_bin_indices,
                          mask_size_ratio,
                          size_bin_index,
                          size_bin_names,
)
from .wsol_metadata import WSOLSplit, read_wsol_split

__all__ = [
    'box_correct_counts', 'box_record', 'maxboxacc', 'size_bin_accuracy', 'box_iou',
    'check_box_convention', 'check_scoremap', 'quantize_cam', 'rescale_boxes', 'HAS_NUMBA',
    'best_ious_at_thresholds', 'scan_cutoffs', 'threshold_cutoffs', 'threshold_list',
    'histogram_edges', 'pixel_histograms', 'piou_from_histograms', 'pxap_from_histograms',
    'contour_boxes', 'reference_best_ious', 'reference_boxes', 'reference_histograms',
    'load_scoremap', 'save_scoremap', 'SIZE_BINS', 'SIZE_GROUPS', 'box_size_ratios',
    'group_bin_indices', 'mask_size_ratio', 'size_bin_index', 'size_bin_names', 'WSOLSplit',
    'read_wsol_split'
]
