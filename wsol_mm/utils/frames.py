"""Map predictions from the network-input frame (``img_shape``) back to the original image.

The geometric transforms record ``homography_matrix`` (3x3, original -> network input, in
continuous coordinates where pixel ``i`` spans ``[i, i + 1)``); these helpers invert it.
Samples from pipelines that recorded no matrix fall back to ``scale_factor`` (a plain
resize) and refuse crops or flips, which a scale alone cannot undo.
"""
from typing import Mapping, Sequence

import cv2
import numpy as np

__all__ = ['input_to_original_matrix', 'boxes_to_original', 'map_to_original', 'gt_boxes_original']


def _original_to_input(meta: Mapping) -> np.ndarray:
    matrix = meta.get('homography_matrix')
    if matrix is not None:
        return np.asarray(matrix, np.float64).reshape(3, 3)
    if meta.get('crop_bbox') is not None or meta.get('flip'):
        raise ValueError('the sample was cropped or flipped but has no `homography_matrix`; '
                         'add it to PackWSOLInputs(meta_keys=...) to map it back')
    if meta.get('scale_factor') is not None:
        sx, sy = meta['scale_factor'][:2]
    else:  # a plain resize from ori_shape to img_shape
        (oh, ow), (h, w) = meta['ori_shape'][:2], meta['img_shape'][:2]
        sx, sy = w / ow, h / oh
    return np.diag([float(sx), float(sy), 1.0])


def input_to_original_matrix(meta: Mapping) -> np.ndarray:
    """3x3 matrix from network-input to original coordinates (continuous convention).

    Args:
        meta (Mapping): a sample's metainfo (``homography_matrix`` or
            ``scale_factor`` / ``ori_shape`` + ``img_shape``).

    Returns:
        np.ndarray: float64 ``(3, 3)``.
    """
    return np.linalg.inv(_original_to_input(meta))


def boxes_to_original(boxes: np.ndarray, meta: Mapping) -> np.ndarray:
    """Inclusive ``xyxy`` pixel boxes of the network input -> original-image pixels.

    A box covering pixels ``x0..x1`` covers ``[x0, x1 + 1)``; that span is mapped and
    the original pixels it touches are returned, clipped to ``ori_shape``.

    Args:
        boxes (np.ndarray): ``(N, 4)`` boxes in ``img_shape`` pixels.
        meta (Mapping): the sample's metainfo (needs ``ori_shape``).

    Returns:
        np.ndarray: ``(N, 4)`` int64 boxes in original pixels.
    """
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    if not len(boxes):
        return np.zeros((0, 4), np.int64)
    inv = input_to_original_matrix(meta)
    xs = np.stack([boxes[:, 0], boxes[:, 2] + 1, boxes[:, 0], boxes[:, 2] + 1], 1)
    ys = np.stack([boxes[:, 1], boxes[:, 1], boxes[:, 3] + 1, boxes[:, 3] + 1], 1)
    ox = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    oy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    eps = 1e-6  # float noise must not grow a box by one pixel
    h, w = meta['ori_shape'][:2]
    out = np.stack([np.floor(ox.min(1) + eps), np.floor(oy.min(1) + eps),
                    np.ceil(ox.max(1) - eps) - 1, np.ceil(oy.max(1) - eps) - 1], 1)
    out[:, 0::2] = out[:, 0::2].clip(0, w - 1)
    out[:, 1::2] = out[:, 1::2].clip(0, h - 1)
    return out.astype(np.int64)


def map_to_original(maps: np.ndarray, meta: Mapping, interpolation: str = 'bilinear',
                    fill: float = 0.0) -> np.ndarray:
    """Warp ``(H, W)`` or ``(K, H, W)`` maps from ``img_shape`` to ``ori_shape``.

    Original pixels that the network never saw (outside a crop) get ``fill``.

    Args:
        maps (np.ndarray): maps at ``img_shape`` (any float or uint8 dtype).
        meta (Mapping): the sample's metainfo.
        interpolation (str): ``'bilinear'`` or ``'nearest'``. Defaults to 'bilinear'.
        fill (float): value outside the network's view. Defaults to 0.

    Returns:
        np.ndarray: float32 maps at ``ori_shape``.
    """
    maps = np.asarray(maps, np.float32)
    squeeze = maps.ndim == 2
    stack = maps[None] if squeeze else maps
    # pixel-centre form of the continuous matrix: x_c = x + 0.5 on both sides
    shift = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
    unshift = np.array([[1.0, 0, -0.5], [0, 1.0, -0.5], [0, 0, 1.0]])
    to_input = (unshift @ _original_to_input(meta) @ shift)[:2]
    h, w = meta['ori_shape'][:2]
    flags = (cv2.INTER_NEAREST if interpolation == 'nearest' else cv2.INTER_LINEAR)
    out = np.stack([
        cv2.warpAffine(m, to_input, (int(w), int(h)), flags=flags | cv2.WARP_INVERSE_MAP,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=float(fill))
        for m in stack
    ])
    return out[0] if squeeze else out


def gt_boxes_original(meta: Mapping, boxes: Sequence = None) -> np.ndarray:
    """GT boxes in original pixels: ``ori_gt_bboxes`` when recorded, else mapped back."""
    if meta.get('ori_gt_bboxes') is not None:
        return np.asarray(meta['ori_gt_bboxes'], np.float64).reshape(-1, 4)
    if boxes is None:
        return np.zeros((0, 4))
    return boxes_to_original(boxes, meta).astype(np.float64)
