"""The compact predictions file of ``tools/test.py --out`` (one record per image).

A file is a pickled ``list`` of plain dicts holding only builtins and contiguous numpy
arrays, so it is small and :func:`load_wsol_results` can read it without running
arbitrary pickled code. Score maps are stored as uint8 ``floor(255 * s)`` by default:
exactly the quantisation the box metrics apply. MaxBoxAcc / MaxBoxAccV2 read the uint8 maps
as they are; :func:`decode_maps` (``u / 255``) gives float maps that every box metric
quantises back to the same ``u``, so all box keys recompute identically from the file. PxAP
thresholds the float map itself: write ``cam_dtype='float16'`` (steps of at most 5e-4) or
``'float32'`` for it.
"""
import os.path as osp
import pickle
from typing import Any, List, Optional, Sequence

import numpy as np

from .arrays_only_unpickler import ArraysOnlyUnpickler

__all__ = ['compact_record', 'save_wsol_results', 'load_wsol_results', 'decode_maps',
           'CAM_DTYPES']

CAM_DTYPES = ('uint8', 'float16', 'float32')
_META_KEYS = ('img_id', 'img_path', 'sample_idx', 'ori_shape', 'img_shape', 'scale_factor',
              'flip', 'flip_direction', 'crop_bbox', 'homography_matrix', 'ori_gt_bboxes')


def _array(value: Any, dtype: Optional[str] = None) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    value = np.asarray(value)
    return np.ascontiguousarray(value if dtype is None else value.astype(dtype))


def _plain(value: Any) -> Any:
    """Metainfo values as builtins (tuples of floats, ints) or numpy arrays."""
    if hasattr(value, 'detach') or isinstance(value, np.ndarray):
        return _array(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    return value


def encode_maps(maps: Any, cam_dtype: str) -> np.ndarray:
    """Maps in [0, 1] as uint8 ``floor(255 s)`` (the evaluators' quantisation) or floats."""
    if cam_dtype not in CAM_DTYPES:
        raise ValueError(f'cam_dtype must be one of {CAM_DTYPES}, got {cam_dtype!r}')
    maps = _array(maps, 'float64')
    if cam_dtype == 'uint8':
        return np.ascontiguousarray((maps.clip(0, 1) * 255).astype(np.uint8))
    return _array(maps, cam_dtype)


def decode_maps(maps: np.ndarray) -> np.ndarray:
    """Stored maps as float32 in [0, 1]; uint8 ``u`` becomes ``u / 255``, which
    ``floor(255 s)`` maps back to ``u`` exactly (checked for all 256 values)."""
    maps = np.asarray(maps)
    return maps.astype(np.float32) / 255.0 if maps.dtype == np.uint8 else maps.astype(np.float32)


def compact_record(sample: Any, cam_dtype: str = 'uint8', topk_cams: bool = False) -> dict:
    """One image's predictions and annotations as a small, self-contained dict.

    Args:
        sample: a predicted :class:`WSOLDataSample` (or its dict form).
        cam_dtype (str): storage of the maps: ``'uint8'`` (default), ``'float16'``
            or ``'float32'``.
        topk_cams (bool): also keep ``pred_cams`` / ``pred_cam_labels``
            (K maps per image). Defaults to False.

    Returns:
        dict: metainfo keys, ``gt_label``, ``pred_label``, ``pred_score``
        (float16), ``gt_bboxes``, masks when present, ``pred_cam`` (and top-k maps).
    """
    get = sample.get
    meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
    record = {k: _plain(meta[k]) for k in _META_KEYS if meta.get(k) is not None}
    for key in ('gt_label', 'pred_label'):
        if get(key) is not None:
            record[key] = int(_array(get(key)).reshape(-1)[0])
    if get('pred_score') is not None:
        record['pred_score'] = _array(get('pred_score'), 'float16')
    boxes = get('gt_bboxes')
    boxes = get('_gt_bboxes') if boxes is None else boxes  # to_dict() keeps the private name
    if boxes is not None:
        record['gt_bboxes'] = _array(boxes, 'float32').reshape(-1, 4)
    for key in ('gt_mask', 'ignore_mask'):
        if get(key) is not None:
            record[key] = _array(get(key), 'bool')
    if get('pred_cam') is None:
        raise KeyError('pred_cam missing: the model predict() must write it')
    record['pred_cam'] = encode_maps(get('pred_cam'), cam_dtype)
    if topk_cams and get('pred_cams') is not None:
        record['pred_cams'] = encode_maps(get('pred_cams'), cam_dtype)
        record['pred_cam_labels'] = _array(get('pred_cam_labels'), 'int64')
    return record


def save_wsol_results(records: Sequence[dict], path: str) -> None:
    """Pickle ``records`` through a temporary file (a killed run leaves no half file)."""
    from wsol_mm.fileio.atomic_write import atomic_open  # the one atomic writer
    with atomic_open(path, 'wb', fsync=False) as f:
        pickle.dump(list(records), f, protocol=pickle.HIGHEST_PROTOCOL)


def load_wsol_results(path: str) -> List[dict]:
    """Read a ``tools/test.py --out`` file (builtins and numpy arrays only).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a wsol_mm results file (names the file).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'results file {path} not found')
    try:
        with open(path, 'rb') as f:
            records = ArraysOnlyUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as err:
        raise ValueError(f'{path} is not a wsol_mm results file of tools/test.py --out '
                         f'(written by an older version, or another pickle): {err}') from None
    if not isinstance(records, list) or (records and 'pred_cam' not in records[0]):
        raise ValueError(f'{path} is not a wsol_mm results file: expected a list of records '
                         'with pred_cam; write it with tools/test.py --out')
    return records
