"""Best box IoU at every integer cut-off of a uint8 map, identical to per-threshold OpenCV.

wsolevaluation binarises ``floor(255 s) > int(tau * max)`` once per CAM
threshold tau; only 255 distinct integer cut-offs exist, so we score each
cut-off once and map thresholds back with :func:`threshold_cutoffs`. With
numba, a union-find pass gives all cut-offs at once (see
``_cutoff_scan_kernels``); v1 cut-offs whose largest contour cannot be decided
from exact area bounds (maps with holes and close contenders) fall back to
OpenCV. Without numba every distinct cut-off is scored with OpenCV.
"""
import threading
from typing import Optional, Sequence, Tuple

import numpy as np

from . import _warmup_state
from .box_ops import check_box_convention, check_scoremap, quantize_cam
from .reference import contour_boxes

try:  # numba is optional: the fallback is exact too, only slower
    from ._cutoff_scan_kernels import BAD_BOXES, OPENCV, scan_map
    HAS_NUMBA = True
except ImportError:  # pragma: no cover - depends on the environment
    HAS_NUMBA = False

__all__ = ['threshold_list', 'threshold_cutoffs', 'scan_cutoffs', 'scan_thresholds',
           'best_ious_at_thresholds', 'HAS_NUMBA', 'NUM_CUTOFFS']

NUM_CUTOFFS = 256


def threshold_list(interval: float) -> np.ndarray:
    """CAM thresholds exactly as wsolevaluation builds them: ``np.arange(0, 1, interval)``."""
    return np.arange(0, 1, interval)


def threshold_cutoffs(thresholds: Sequence[float], max_u: int) -> np.ndarray:
    """Integer cut-offs ``int(tau * max_u)`` of the thresholds (same float64 product).

    Args:
        thresholds (Sequence[float]): CAM thresholds.
        max_u (int): maximum of the uint8 map (255 for a normalised map).

    Returns:
        np.ndarray: int64 cut-offs.
    """
    return (np.asarray(thresholds, dtype=np.float64) * np.float64(max_u)).astype(np.int64)


def _iou_gt(boxes: np.ndarray, gts: np.ndarray) -> Tuple[float, int]:
    from .box_ops import box_iou
    per_gt = box_iou(boxes, gts, check=False).max(axis=0)
    return float(per_gt.max()), int(np.argmax(per_gt))


_LOCAL = threading.local()  # work buffers of each thread (the scorers score images in threads)
_NO_FLOORS = np.zeros(0)
_NO_THRESHOLDS = np.zeros(0)
_NO_MAP = np.zeros((0, 0))  # the map argument when the kernel reads uint8 levels
_ALL_CUTOFFS = np.ones(NUM_CUTOFFS, np.bool_)
# dtypes, not types: comparing a dtype with a type builds a dtype at every call
_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_EMPTY_BOXES = {(0, 0, 0, 0): np.zeros(4), (0, 0, 1, 1): np.array([0., 0., 1., 1.])}


def _workspace(h: int, w: int) -> tuple:
    # Buffers are reused across calls (one set per thread): fresh multi-MB arrays per
    # map cost more in page faults than the scan itself. Per-slot arrays are sized for
    # the worst case (every pixel its own component) but only their first rows are used.
    key = (h, w)
    spaces = getattr(_LOCAL, 'spaces', None)
    if spaces is None:
        spaces = _LOCAL.spaces = {}
    if key not in spaces:
        if len(spaces) > 8:
            spaces.clear()
        n = h * w + 1
        spaces[key] = (np.empty((h, w), np.uint8), np.empty(h * w, np.int64),
                            np.empty(NUM_CUTOFFS + 1, np.int64),
                            np.empty((h + 2, w + 2), np.uint8),
                            np.empty((h + 2) * (w + 2), np.int32), np.empty(n, np.int32),
                            np.empty((n, 8), np.int32), np.empty(n, np.int64), np.empty(n),
                            np.empty(n, np.int32))
    return spaces[key]


def _opencv_cutoff(u: np.ndarray, cutoff: int, gts: np.ndarray, multi_contour: bool,
                   clip: bool = True, empty_box: Sequence[int] = (0, 0, 0, 0)) -> Tuple[float, int]:
    return _iou_gt(contour_boxes(u, cutoff, multi_contour, clip, empty_box), gts)


def _as_map(cam) -> np.ndarray:
    cam = cam.detach().cpu().numpy() if hasattr(cam, 'detach') else np.asarray(cam)
    if cam.ndim != 2:
        check_scoremap(cam)  # raises the precise message
    return cam


def scan_thresholds(cam: np.ndarray, gt_boxes: np.ndarray, multi_contour: bool,
                    thresholds: Optional[Sequence[float]] = None, scale: int = 0,
                    cutoffs: Optional[Sequence[int]] = None, use_numba: bool = True,
                    clip: bool = True, empty_box: Sequence[int] = (0, 0, 0, 0),
                    iou_floors: Optional[Sequence[float]] = None
                    ) -> Tuple[np.ndarray, np.ndarray, int]:
    """Best IoU and GT index at the cut-offs of CAM thresholds, and ``max(u)``.

    Like :func:`scan_cutoffs`, with the cut-offs given as CAM thresholds:
    ``int(tau * max(u))`` (``scale=0``, wsolevaluation) or ``int(tau * scale)``
    (SCM: 255). Quantisation, validation and the threshold mapping happen in
    the same compiled pass as the scan.

    Args:
        cam (np.ndarray): float map in [0, 1] or an already quantised uint8 map.
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes in the map's frame.
        multi_contour (bool): V2 or v1.
        thresholds (Sequence[float], optional): CAM thresholds; None: ``cutoffs``.
        scale (int): multiplier of the thresholds, 0 for ``max(u)``. Defaults to 0.
        cutoffs, use_numba, clip, empty_box, iou_floors: see :func:`scan_cutoffs`.

    Returns:
        tuple: ``(256,)`` IoUs and GT indices indexed by cut-off (as
        :func:`scan_cutoffs`), and ``max(u)``.
    """
    cam = _as_map(cam)
    # one compiled layout; the kernel checks the convention (check_box_convention's
    # numpy checks cost 5 us a map, 1 % of a V2 map at interval 0.01) and the message
    # comes from check_box_convention
    gts = np.asarray(gt_boxes, np.float64)
    if gts.ndim != 2 or gts.shape[1] != 4 or not gts.flags.c_contiguous:
        gts = np.ascontiguousarray(gts.reshape(-1, 4))
    if len(gts) == 0:
        raise ValueError('At least one GT box is needed to score a map')
    if multi_contour and not clip:
        raise ValueError('unclipped boxes are only supported for v1 (largest contour)')
    levels = cam.dtype not in _FLOAT_DTYPES  # uint8 maps and other dtypes
    if levels and cam.dtype != np.uint8:
        cam = quantize_cam(cam)  # numpy quantises other dtypes
    if not (HAS_NUMBA and use_numba):
        check_box_convention(gts)
        u = quantize_cam(cam)
        max_u = int(u.max()) if u.size else 0
        if thresholds is not None:
            cutoffs = threshold_cutoffs(thresholds, scale or max_u)
        want = np.zeros(NUM_CUTOFFS, np.bool_)
        want[slice(None) if cutoffs is None else np.asarray(cutoffs)] = True
        ious = np.full(NUM_CUTOFFS, -1.0)
        gt_idx = np.zeros(NUM_CUTOFFS, np.int64)
        for t in np.flatnonzero(want):
            ious[t], gt_idx[t] = _opencv_cutoff(u, int(t), gts, multi_contour, clip, empty_box)
        return ious, gt_idx, max_u
    if thresholds is not None:
        taus, want = np.ascontiguousarray(thresholds, np.float64), _ALL_CUTOFFS
    else:
        taus, want = _NO_THRESHOLDS, _ALL_CUTOFFS
        if cutoffs is not None:
            want = np.zeros(NUM_CUTOFFS, np.bool_)
            want[np.asarray(cutoffs)] = True
    ebox = _EMPTY_BOXES.get(tuple(empty_box))
    if ebox is None:
        ebox = np.asarray(empty_box, np.float64)
    floors = _NO_FLOORS if iou_floors is None else np.sort(np.asarray(iou_floors, np.float64))
    if _warmup_state.PROCESSES:  # a warm-up is compiling these kernels: wait for it
        _warmup_state.wait_for_warmup()
    work = _workspace(*cam.shape)
    if levels:  # the kernel reads the levels from its buffer; one compiled version
        work[0][...] = cam
        cam = _NO_MAP
    ious, gt_idx, status, max_u, err = scan_map(
        np.ascontiguousarray(cam), levels, gts, want, taus, scale, multi_contour, clip, ebox,
        floors, *work)
    if err == BAD_BOXES:
        check_box_convention(gts)  # raises the precise message
    if err:
        check_scoremap(cam)  # raises the precise message
        raise RuntimeError(f'the box scan failed with error {err}')  # pragma: no cover
    if multi_contour:  # V2 settles every cut-off in the kernel (holes included)
        return ious, gt_idx, int(max_u)
    # v1 cut-offs with holes whose largest contour the area bounds cannot decide
    undecided = np.flatnonzero(status == OPENCV)
    if len(undecided):
        u = work[0].copy()
        for t in undecided:
            ious[t], gt_idx[t] = _opencv_cutoff(u, int(t), gts, multi_contour, clip, empty_box)
    return ious, gt_idx, int(max_u)


def scan_cutoffs(cam: np.ndarray, gt_boxes: np.ndarray, multi_contour: bool,
                 cutoffs: Sequence[int] = None, use_numba: bool = True, clip: bool = True,
                 empty_box: Sequence[int] = (0, 0, 0, 0),
                 iou_floors: Optional[Sequence[float]] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Best IoU (and the GT index reaching it) of the boxes at each integer cut-off.

    Args:
        cam (np.ndarray): float map in [0, 1] or an already quantised uint8 map.
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes in the map's frame (inclusive xyxy).
        multi_contour (bool): V2 (boxes of all RETR_TREE contours) or v1
            (box of the largest contour by ``cv2.contourArea``).
        cutoffs (Sequence[int], optional): the cut-offs that will be read; the
            OpenCV paths only score these. Defaults to all 256.
        use_numba (bool): use the union-find kernels when available. Defaults to True.
        clip (bool): clip x1/y1 to W-1/H-1 (wsolevaluation; TS-CAM's ``fixed``
            protocol does not clip). Defaults to True.
        empty_box (Sequence[int]): the box of an empty mask (TS-CAM: (0, 0, 1, 1)).
            Defaults to (0, 0, 0, 0).
        iou_floors (Sequence[float], optional): IoU thresholds (0..1) the caller
            compares with. Given, each returned IoU is on the same side of every
            floor as the exact one but may differ otherwise, and GT indices may
            differ: holes and undecided v1 cut-offs are only resolved when they
            could cross a floor. Defaults to None (exact IoUs and indices).

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(256,)`` float64 IoUs and int64 GT
        indices indexed by cut-off (entries not requested are undefined on the
        OpenCV path).
    """
    ious, gt_idx, _ = scan_thresholds(cam, gt_boxes, multi_contour, cutoffs=cutoffs,
                                      use_numba=use_numba, clip=clip, empty_box=empty_box,
                                      iou_floors=iou_floors)
    return ious, gt_idx


def best_ious_at_thresholds(cam: np.ndarray, gt_boxes: np.ndarray, thresholds: Sequence[float],
                            multi_contour: bool) -> Tuple[np.ndarray, np.ndarray]:
    """Best IoU and GT index per CAM threshold (fast equivalent of ``reference_best_ious``).

    Args:
        cam (np.ndarray): float map in [0, 1].
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes.
        thresholds (Sequence[float]): CAM thresholds.
        multi_contour (bool): V2 or v1.

    Returns:
        tuple[np.ndarray, np.ndarray]: ``(T,)`` IoUs and GT indices.
    """
    ious, gts, max_u = scan_thresholds(cam, gt_boxes, multi_contour, thresholds=thresholds)
    cut = threshold_cutoffs(thresholds, max_u)
    return ious[cut], gts[cut]
