"""Image loading with errors that name the file."""
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import BaseTransform

from wsol_mm.fileio import decode_image
from wsol_mm.registry import TRANSFORMS
from wsol_mm.utils import DataFileError, MissingFileError


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Load a BGR image from ``results['img_path']``.

    Adds ``img``, ``img_shape`` and ``ori_shape`` (both ``(H, W)``). If the
    metadata gave an original size (``ori_size``), it must match the file.

    Args:
        color_type (str): ``'color'`` or ``'grayscale'`` (mmcv flag). Defaults to 'color'.
        imdecode_backend (str): mmcv decoding backend. Defaults to 'cv2'.
    """

    def __init__(self, color_type: str = 'color', imdecode_backend: str = 'cv2') -> None:
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        try:
            img_bytes = fileio.get(path)
        except FileNotFoundError:
            raise MissingFileError(
                f'image {path} not found (image id {results.get("img_id")!r} of the split '
                'metadata); check `data_root` / `data_prefix.img_path`') from None
        img = decode_image(img_bytes, path, flag=self.color_type, backend=self.imdecode_backend)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        h, w = img.shape[:2]
        ori_size = results.get('ori_size')
        if ori_size is not None and tuple(ori_size) != (w, h):
            raise DataFileError(f'image {path} is {w}x{h} but image_sizes.txt says '
                                f'{ori_size[0]}x{ori_size[1]}; fix the metadata line')
        results.update(img=img, img_shape=(h, w), ori_shape=(h, w))
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(color_type={self.color_type!r})'
