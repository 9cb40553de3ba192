"""Image decoding whose errors name the file."""
import cv2
import mmengine.fileio as mm_fileio
import numpy as np

from wsol_mm.utils.data_file_error import DataFileError
from wsol_mm.utils.missing_file_error import MissingFileError

__all__ = ['decode_image', 'read_image']


# what to do about a bad image file (vis_cam reads one outside any dataset)
_FIX = 'replace the file (in a dataset, or drop its id from the split metadata)'


def decode_image(data: bytes, path: str, flag: str = 'color', backend: str = 'cv2') -> np.ndarray:
    """Decode image bytes read from ``path`` (BGR for colour images).

    Args:
        data (bytes): the file's content.
        path (str): where it came from (for messages).
        flag (str): mmcv colour flag. Defaults to 'color'.
        backend (str): mmcv decoding backend. Defaults to 'cv2'.

    Returns:
        np.ndarray: ``(H, W, 3)`` or ``(H, W)`` uint8 image.

    Raises:
        DataFileError: the file is empty, corrupt or not an image.
    """
    import mmcv  # here: `import wsol_mm` (compat) loads this module and should stay light
    if not data:
        raise DataFileError(f'image {path} is empty (0 bytes): {_FIX}')
    try:
        img = mmcv.imfrombytes(data, flag=flag, backend=backend)
    except (cv2.error, OSError, ValueError) as err:
        why = str(err).strip()[:200]
        raise DataFileError(f'image {path} cannot be decoded ({why}); {_FIX}') from None
    if img is None or img.size == 0:
        raise DataFileError(f'image {path} cannot be decoded (corrupt or not an image); {_FIX}')
    return img


def read_image(path: str, flag: str = 'color', backend: str = 'cv2') -> np.ndarray:
    """Read and decode an image file (any mmengine file backend path).

    Raises:
        MissingFileError: no such file.
        DataFileError: see :func:`decode_image`.
    """
    try:
        data = mm_fileio.get(path)
    except FileNotFoundError:
        raise MissingFileError(f'image {path} not found') from None
    return decode_image(data, path, flag, backend)
