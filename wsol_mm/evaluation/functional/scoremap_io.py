"""Score maps stored as wsolevaluation does: ``<root>/<image_id>.npy``."""
import os
import os.path as osp
import tempfile
from typing import Optional, Tuple

import numpy as np

__all__ = ['scoremap_path', 'save_scoremap', 'load_scoremap']


def scoremap_path(root: str, img_id: str) -> str:
    """``<root>/<image_id>.npy`` (``.npy`` appended to the full id, extension included)."""
    return osp.join(root, img_id + '.npy')


def save_scoremap(root: str, img_id: str, cam: np.ndarray) -> str:
    """Write one map atomically (temporary file + rename) and return its path.

    Args:
        root (str): score-map root.
        img_id (str): wsolevaluation image id, e.g. ``val2/0/0.jpeg``.
        cam (np.ndarray | torch.Tensor): 2-D map in [0, 1].

    Returns:
        str: the written path.
    """
    if hasattr(cam, 'detach'):
        cam = cam.detach().cpu().numpy()
    path = scoremap_path(root, img_id)
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=osp.dirname(path) or '.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            np.save(f, np.asarray(cam, dtype=np.float32))
        os.replace(tmp, path)  # readers never see a half-written file
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def load_scoremap(root: str, img_id: str,
                  shape: Optional[Tuple[int, int]] = (224, 224)) -> np.ndarray:
    """Load and validate one map (2-D, expected shape, no NaN, values in [0, 1]).

    Args:
        root (str): score-map root.
        img_id (str): image id.
        shape (tuple, optional): required ``(H, W)``. Defaults to (224, 224).

    Returns:
        np.ndarray: float64 map.
    """
    path = scoremap_path(root, img_id)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Score map not found: {path} (image id {img_id!r})')
    cam = np.load(path).astype(np.float64)
    if cam.ndim != 2 or (shape is not None and cam.shape != tuple(shape)):
        raise ValueError(f'{path}: score map shape {cam.shape}, expected {tuple(shape)}')
    if np.isnan(cam).any():
        raise ValueError(f'{path}: score map contains NaN')
    if cam.min() < 0 or cam.max() > 1:
        raise ValueError(f'{path}: values must be in [0, 1], got [{cam.min()}, {cam.max()}]')
    return cam
