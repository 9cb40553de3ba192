"""timm's RandomErasing applied to the uint8 image, in normalised units."""
from typing import List, Sequence, Tuple

import torch
from mmcv.transforms import BaseTransform
from timm.data.random_erasing import RandomErasing as TimmRandomErasing

from wsol_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """Random erasing (DeiT recipe: ``p=0.25, mode='pixel', count=1``).

    Normalisation lives only in the data preprocessor, so the erasing runs here
    on the uint8 image through timm's own implementation: the image is mapped
    to normalised units ``(x - mean) / std``, timm erases (its ``pixel`` fill
    is N(0, 1) per pixel in those units), and the result is mapped back,
    rounded and clipped to [0, 255]. After the preprocessor the erased pixels
    therefore equal timm's up to uint8 rounding (``std/2`` ~ 0.01 normalised)
    and clipping of fills beyond about +-2.1 sigma (about 3 % of them).
    Boxes are unchanged (erasing does not move the object).

    Only the erased patch is mapped: timm's eraser (its ``_erase``; the tests compare
    with its public call on the whole float image) draws its random numbers and writes
    its patches into a stand-in that records them; each patch's fill then goes to uint8
    in a copy of the image. Pixels outside a patch are what the whole-image round trip
    would give (``round`` undoes its float error).

    Args:
        prob (float): probability of erasing an image. Defaults to 0.25.
        mode (str): timm mode: ``'pixel'``, ``'rand'`` or ``'const'``. Defaults to 'pixel'.
        max_count (int): maximum number of boxes. Defaults to 1.
        mean (Sequence[float]): RGB mean, 0-255 (must match the preprocessor).
        std (Sequence[float]): RGB std, 0-255 (must match the preprocessor).
    """

    def __init__(self, prob: float = 0.25, mode: str = 'pixel', max_count: int = 1,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375)) -> None:
        self.prob = prob
        self.mode = mode
        self.eraser = TimmRandomErasing(probability=prob, mode=mode, max_count=max_count,
                                        device='cpu')
        # Pipeline images are BGR: reverse the RGB statistics.
        self.mean = torch.tensor(mean[::-1], dtype=torch.float32)[:, None, None]
        self.std = torch.tensor(std[::-1], dtype=torch.float32)[:, None, None]

    def transform(self, results: dict) -> dict:
        img = results['img']
        patches = _PatchRecorder()
        # timm's own per-image draw (erase or not, then the patches) on the stand-in
        self.eraser._erase(patches, img.shape[2], img.shape[0], img.shape[1], torch.float32)
        if patches.writes:
            img = img.copy()  # the input stays as it was
            for (_, rows, cols), fill in patches.writes:
                chw = (fill * self.std + self.mean).round().clamp(0, 255).to(torch.uint8)
                img[rows, cols] = chw.numpy().transpose(1, 2, 0)  # (C, 1, 1) fills broadcast
            results['img'] = img
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob}, mode={self.mode!r})'


class _PatchRecorder:
    """Stands in for the image in timm's ``_erase``: keeps each ``(index, fill)`` written."""

    def __init__(self) -> None:
        self.writes: List[Tuple[tuple, torch.Tensor]] = []

    def __setitem__(self, index: tuple, fill: torch.Tensor) -> None:
        self.writes.append((index, fill))
