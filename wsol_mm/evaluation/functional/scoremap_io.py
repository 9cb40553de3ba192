"""Score maps stored as wsolevaluation does (``<root>/<image_id>.npy``) and wsol_mm's sidecar.

``tools/test.py --out-scoremaps DIR`` writes, besides the maps, one sidecar file
``DIR/wsol_mm_samples.npz`` with the ground truth of every image in the
network-input frame (exactly what the online metrics saw), the class scores
and the names and arguments of the configured metrics. It holds plain arrays
and one JSON string, so it loads without pickle.
"""
import json
import os.path as osp
import re
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

__all__ = ['ScoremapError', 'SIDECAR_NAME', 'atomic_write', 'scoremap_path', 'topk_scoremap_path',
           'save_scoremap', 'load_scoremap', 'save_sidecar', 'load_sidecar']

#: file name of the sidecar in a score-map folder
SIDECAR_NAME = 'wsol_mm_samples.npz'
_SIDECAR_VERSION = 1
# array fields of a sidecar record; boxes and masks are concatenated with offsets
_ROW_FIELDS = ('img_shape', 'ori_shape', 'gt_label', 'pred_score', 'pred_cam_labels')
_RAGGED_FIELDS = ('gt_bboxes', 'ori_gt_bboxes')
_MASK_FIELDS = ('gt_mask', 'ignore_mask')


# the header np.save writes for a C-order little-endian float array (format version 1.0)
_NPY_HEADER = re.compile(rb"\{'descr': '<(f[48])', 'fortran_order': False, 'shape': "
                         rb"\((\d+(?:, \d+)*),?\), \} *\n")


class ScoremapError(ValueError):
    """A score map or sidecar file is unreadable or invalid; the message names the file."""


def scoremap_path(root: str, img_id: str) -> str:
    """``<root>/<image_id>.npy`` (``.npy`` appended to the full id, extension included)."""
    return osp.join(root, img_id + '.npy')


def topk_scoremap_path(root: str, img_id: str) -> str:
    """``<root>/<image_id>.topk.npy``: the ``(K, H, W)`` maps of the top-K predicted classes."""
    return osp.join(root, img_id + '.topk.npy')


def atomic_write(path: str, write: Callable) -> str:
    """Write ``path`` through the package's atomic writer (readers never see half a file).

    Args:
        path (str): the file to write.
        write (Callable): ``write(binary file object)`` writes the content.

    Returns:
        str: ``path``.
    """
    from wsol_mm.fileio.atomic_write import atomic_open  # the one atomic writer
    with atomic_open(path, 'wb', fsync=False) as f:
        write(f)
    return path


def save_scoremap(root: str, img_id: str, cam: np.ndarray, topk: bool = False) -> str:
    """Write one map (float32) atomically and return its path.

    Args:
        root (str): score-map root.
        img_id (str): wsolevaluation image id, e.g. ``val2/0/0.jpeg``.
        cam (np.ndarray | torch.Tensor): ``(H, W)`` map in [0, 1] (``(K, H, W)`` with ``topk``).
        topk (bool): write the top-K maps to ``<image_id>.topk.npy``. Defaults to False.

    Returns:
        str: the written path.
    """
    if hasattr(cam, 'detach'):
        cam = cam.detach().cpu().numpy()
    cam = np.ascontiguousarray(cam, dtype=np.float32)
    if cam.ndim != (3 if topk else 2):
        raise ValueError(f'score map of {img_id!r} has shape {cam.shape}; expected '
                         f'{"(K, H, W)" if topk else "(H, W)"}')
    path = (topk_scoremap_path if topk else scoremap_path)(root, img_id)
    return atomic_write(path, lambda f: np.save(f, cam))


def load_scoremap(root: str, img_id: str, shape: Optional[Tuple[int, ...]] = None,
                  topk: bool = False) -> np.ndarray:
    """Load and validate one map (float, expected shape, no NaN, values in [0, 1]).

    Args:
        root (str): score-map root.
        img_id (str): image id.
        shape (tuple, optional): required shape (``(H, W)``, or ``(H, W)`` of each top-K map).
        topk (bool): load ``<image_id>.topk.npy`` (``(K, H, W)``). Defaults to False.

    Returns:
        np.ndarray: the map in its stored float dtype.

    Raises:
        FileNotFoundError: the file does not exist.
        ScoremapError: the file is not a valid score map (the message names it).
    """
    path = (topk_scoremap_path if topk else scoremap_path)(root, img_id)
    if not osp.isfile(path):
        raise FileNotFoundError(f'score map not found: {path} (image id {img_id!r})')
    try:
        cam = _read_npy(path)
    except (ValueError, OSError, EOFError) as err:
        # numpy's own text for pickled content suggests an unsafe load: not for a score map
        why = ('not a plain array: numpy would have to unpickle it' if 'pickle' in str(err)
               else str(err))
        raise ScoremapError(f'{path}: not a readable .npy score map ({why})') from None
    if not isinstance(cam, np.ndarray) or not (np.issubdtype(cam.dtype, np.floating)
                                               or cam.dtype == bool):
        raise ScoremapError(f'{path}: score maps are float arrays in [0, 1], got '
                            f'{getattr(cam, "dtype", type(cam))}')
    want_ndim = 3 if topk else 2
    if cam.ndim != want_ndim or (shape is not None and cam.shape[-2:] != tuple(shape)):
        expected = f'{want_ndim}-D' + (f' ending in {tuple(shape)}' if shape else '')
        raise ScoremapError(f'{path}: score map shape {cam.shape}, expected {expected}')
    if cam.size:
        lo, hi = cam.min(), cam.max()  # NaN anywhere makes both NaN
        if not (lo >= 0 and hi <= 1):
            if np.isnan(lo):
                raise ScoremapError(f'{path}: score map contains NaN')
            raise ScoremapError(f'{path}: values must be in [0, 1], got [{lo}, {hi}]')
    return cam


def _read_npy(path: str) -> np.ndarray:
    """``np.load(path, allow_pickle=False)``, with the maps np.save writes read directly.

    For a 224 x 224 map np.load's header parsing costs more than reading the data; a
    little-endian float32/64 C-order array with np.save's version 1.0 header is read
    straight into a new (writable) array, anything else goes through np.load.
    """
    with open(path, 'rb') as f:
        head = f.read(10)
        if head[:8] == b'\x93NUMPY\x01\x00' and len(head) == 10:
            header = f.read(int.from_bytes(head[8:10], 'little'))
            match = _NPY_HEADER.fullmatch(header)
            if match is not None:
                shape = tuple(int(v) for v in match.group(2).split(b','))
                cam = np.empty(shape, np.dtype('<' + match.group(1).decode()))
                if (cam.size and f.readinto(memoryview(cam.view(np.uint8).reshape(-1)))
                        == cam.nbytes and not f.read(1)):
                    return cam
    return np.load(path, allow_pickle=False)


def save_sidecar(root: str, records: List[dict], meta: dict) -> str:
    """Write the per-image ground truth and scores of a score-map folder (atomically).

    Args:
        root (str): score-map root.
        records (list[dict]): one dict per image with ``img_id`` and any of
            ``img_shape``, ``ori_shape``, ``gt_label``, ``pred_score``,
            ``pred_cam_labels``, ``gt_bboxes``, ``ori_gt_bboxes``, ``gt_mask``,
            ``ignore_mask``; a field is stored when every record has it.
        meta (dict): JSON-serialisable description (metrics, config, split ...).

    Returns:
        str: the sidecar path.
    """
    arrays: Dict[str, np.ndarray] = dict(img_ids=np.array([r['img_id'] for r in records]))
    present = [k for k in _ROW_FIELDS + _RAGGED_FIELDS + _MASK_FIELDS
               if records and all(r.get(k) is not None for r in records)]
    for key in present:
        values = [np.asarray(r[key]) for r in records]
        if key in _ROW_FIELDS:
            arrays[key] = np.stack([v.reshape(-1) for v in values])
            continue
        if key in _MASK_FIELDS:
            arrays[f'{key}_shape'] = np.array([v.shape for v in values], np.int64)
            values = [np.packbits(v.astype(bool).ravel()) for v in values]
        else:
            values = [v.astype(np.float32).reshape(-1, 4) for v in values]
        arrays[f'{key}_offsets'] = np.cumsum([0] + [len(v) for v in values]).astype(np.int64)
        arrays[key] = np.concatenate(values) if values else np.zeros(0)
    arrays['meta'] = np.array(json.dumps(dict(meta, version=_SIDECAR_VERSION, fields=present)))
    return atomic_write(osp.join(root, SIDECAR_NAME), lambda f: np.savez(f, **arrays))


def load_sidecar(root: str) -> Tuple[List[dict], dict]:
    """Read ``<root>/wsol_mm_samples.npz`` back into per-image dicts and its meta.

    Raises:
        FileNotFoundError: no sidecar in ``root``.
        ScoremapError: the file is not a valid sidecar (the message names it).
    """
    path = osp.join(root, SIDECAR_NAME)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found')
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(str(arrays['meta']))
        if meta.get('version') != _SIDECAR_VERSION:
            raise ScoremapError(f'{path}: sidecar version {meta.get("version")}, this wsol_mm '
                                f'reads version {_SIDECAR_VERSION}; rerun tools/test.py')
        records = [dict(img_id=str(i)) for i in arrays['img_ids']]
        for key in meta['fields']:
            for n, rec in enumerate(records):
                if key in _ROW_FIELDS:
                    rec[key] = arrays[key][n]
                    continue
                lo, hi = arrays[f'{key}_offsets'][n:n + 2]
                value = arrays[key][lo:hi]
                if key in _MASK_FIELDS:
                    shape = tuple(arrays[f'{key}_shape'][n])
                    value = np.unpackbits(value, count=int(np.prod(shape))).astype(bool)
                    value = value.reshape(shape)
                rec[key] = value
    except (ValueError, OSError, EOFError, KeyError) as err:
        if isinstance(err, ScoremapError):
            raise
        raise ScoremapError(f'{path}: not a valid wsol_mm sidecar ({err!r}); rerun '
                            'tools/test.py --out-scoremaps') from None
    return records, meta
