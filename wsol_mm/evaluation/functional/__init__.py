"""Pure numpy / OpenCV / numba evaluation maths (no mmengine imports)."""
from .box_accuracy import binned_counts, box_correct_counts, box_record, maxboxacc, size_bin_counts
from .box_ops import box_iou, check_box_convention, check_scoremap, quantize_cam, rescale_boxes
from .cutoff_scan import (
                          HAS_NUMBA,
                          best_ious_at_thresholds,
                          scan_cutoffs,
                          scan_thresholds,
                          threshold_cutoffs,
                          threshold_list,
)
from .pxap import (
    histogram_edges,
    kernel_bins,
    parallel_threads,
    piou_from_histograms,
    pixel_histograms,
    pixel_histograms_many,
    pr_curve_from_histograms,
    pxap_from_histograms,
)
from .reference import contour_boxes, reference_best_ious, reference_boxes, reference_histograms
from .scoremap_io import (
    SIDECAR_NAME,
    ScoremapError,
    atomic_write,
    load_scoremap,
    load_sidecar,
    save_scoremap,
    save_sidecar,
    scoremap_path,
    topk_scoremap_path,
)
from .size_bins import (
                          SIZE_BINS,
                          SIZE_GROUPS,
                          box_size_ratios,
                          group_bin_indices,
                          mask_size_ratio,
                          size_bin_index,
                          size_bin_names,
)
from .thread_mode_chooser import ThreadModeChooser

__all__ = [
    'binned_counts', 'box_correct_counts', 'box_record', 'maxboxacc', 'size_bin_counts',
    'box_iou', 'check_box_convention', 'check_scoremap', 'quantize_cam', 'rescale_boxes',
    'HAS_NUMBA', 'best_ious_at_thresholds', 'scan_cutoffs', 'scan_thresholds', 'threshold_cutoffs',
    'threshold_list',
    'histogram_edges', 'kernel_bins', 'parallel_threads', 'pixel_histograms',
    'pixel_histograms_many',
    'piou_from_histograms',
    'pxap_from_histograms',
    'pr_curve_from_histograms', 'contour_boxes', 'reference_best_ious', 'reference_boxes',
    'reference_histograms', 'load_scoremap', 'save_scoremap', 'load_sidecar', 'save_sidecar',
    'scoremap_path', 'topk_scoremap_path', 'ScoremapError', 'atomic_write', 'SIDECAR_NAME',
    'SIZE_BINS', 'SIZE_GROUPS', 'box_size_ratios', 'group_bin_indices', 'mask_size_ratio',
    'size_bin_index', 'size_bin_names', 'ThreadModeChooser'
]
