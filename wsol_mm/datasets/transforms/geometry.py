"""Box- and mask-aware geometric operations on a pipeline ``results`` dict.

Boxes are ``xyxy`` inclusive pixel corners (wsolevaluation convention): a box
covers columns ``x0..x1``. Masks are ``(H, W)`` uint8 arrays.

Each operation also composes ``results['homography_matrix']`` (as mmdet does): the
3x3 matrix mapping continuous original-image coordinates (pixel ``i`` spans
``[i, i + 1)``) to the current frame, so predictions can be mapped back to the
original image (``wsol_mm.utils.frames``).
"""
from typing import Sequence, Tuple, Union

import cv2
import numpy as np

MASK_KEYS = ('gt_mask', 'ignore_mask')

_INTERP = dict(nearest=cv2.INTER_NEAREST, bilinear=cv2.INTER_LINEAR, bicubic=cv2.INTER_CUBIC,
               area=cv2.INTER_AREA, lanczos=cv2.INTER_LANCZOS4)


def parse_size(size: Union[int, Sequence[int]]) -> Tuple[int, ...]:
    """``(w, h)`` from one side or a ``(w, h)`` pair."""
    return (size, size) if isinstance(size, int) else tuple(size)


def interp_code(name: str) -> int:
    """OpenCV interpolation flag of a name such as ``'bilinear'``."""
    if name not in _INTERP:
        raise ValueError(f'interpolation must be one of {sorted(_INTERP)}, got {name!r}')
    return _INTERP[name]


def _compose(results: dict, step: np.ndarray) -> None:
    """Left-multiply the pipeline's ``homography_matrix`` by one step."""
    prev = results.get('homography_matrix')
    prev = np.eye(3) if prev is None else np.asarray(prev, np.float64)
    results['homography_matrix'] = step @ prev


def resize_results(results: dict, new_w: int, new_h: int, interpolation: str = 'bilinear') -> None:
    """Resize the image, boxes and masks to ``(new_h, new_w)`` in place.

    Box coordinates are scaled per axis and truncated, exactly as wsolevaluation
    rescales GT boxes to its evaluation resolution.
    """
    img = results['img']
    h, w = img.shape[:2]
    results['img'] = cv2.resize(img, (new_w, new_h), interpolation=interp_code(interpolation))
    sx, sy = new_w / w, new_h / h
    boxes = results.get('gt_bboxes')
    if boxes is not None and len(boxes):
        scaled = np.floor(boxes * np.array([sx, sy, sx, sy], np.float64))
        scaled[:, 0::2] = scaled[:, 0::2].clip(0, new_w - 1)
        scaled[:, 1::2] = scaled[:, 1::2].clip(0, new_h - 1)
        results['gt_bboxes'] = scaled.astype(np.float32)
    for key in MASK_KEYS:
        if results.get(key) is not None:
            results[key] = cv2.resize(results[key], (new_w, new_h),
                                      interpolation=cv2.INTER_NEAREST)
    old = results.get('scale_factor', (1.0, 1.0))
    results['scale_factor'] = (old[0] * sx, old[1] * sy)
    results['img_shape'] = (new_h, new_w)
    _compose(results, np.diag([sx, sy, 1.0]))


def crop_results(results: dict, x0: int, y0: int, crop_w: int, crop_h: int) -> None:
    """Crop image, boxes and masks to ``[x0, x0+crop_w) x [y0, y0+crop_h)`` in place.

    Boxes are shifted and clipped to the crop; boxes entirely outside are dropped.
    """
    results['img'] = results['img'][y0:y0 + crop_h, x0:x0 + crop_w]
    boxes = results.get('gt_bboxes')
    if boxes is not None and len(boxes):
        shifted = boxes - np.array([x0, y0, x0, y0], np.float32)
        inside = ((shifted[:, 2] >= 0) & (shifted[:, 3] >= 0) & (shifted[:, 0] <= crop_w - 1)
                  & (shifted[:, 1] <= crop_h - 1))
        shifted = shifted[inside]
        shifted[:, 0::2] = shifted[:, 0::2].clip(0, crop_w - 1)
        shifted[:, 1::2] = shifted[:, 1::2].clip(0, crop_h - 1)
        results['gt_bboxes'] = shifted.astype(np.float32)
    for key in MASK_KEYS:
        if results.get(key) is not None:
            results[key] = results[key][y0:y0 + crop_h, x0:x0 + crop_w]
    results['crop_bbox'] = (x0, y0, x0 + crop_w - 1, y0 + crop_h - 1)
    results['img_shape'] = (crop_h, crop_w)
    _compose(results, np.array([[1.0, 0, -x0], [0, 1.0, -y0], [0, 0, 1.0]]))


def _hflip(arr: np.ndarray) -> np.ndarray:
    """``arr[:, ::-1]`` as a contiguous copy; cv2's flip is ~100x numpy's strided copy."""
    if arr.dtype == np.uint8 and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        return cv2.flip(np.ascontiguousarray(arr), 1)
    return np.ascontiguousarray(arr[:, ::-1])


def hflip_results(results: dict) -> None:
    """Flip image, boxes and masks horizontally in place."""
    results['img'] = _hflip(results['img'])
    w = results['img'].shape[1]
    boxes = results.get('gt_bboxes')
    if boxes is not None and len(boxes):
        flipped = boxes.copy()
        flipped[:, 0] = w - 1 - boxes[:, 2]
        flipped[:, 2] = w - 1 - boxes[:, 0]
        results['gt_bboxes'] = flipped
    for key in MASK_KEYS:
        if results.get(key) is not None:
            results[key] = _hflip(results[key])
    _compose(results, np.array([[-1.0, 0, w], [0, 1.0, 0], [0, 0, 1.0]]))
