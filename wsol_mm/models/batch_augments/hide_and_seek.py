"""Hide-and-Seek (Singh & Lee, ICCV 2017) on the input batch, as in wsolevaluation."""
import math
from typing import List, Optional, Tuple

import numpy as np
import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample

from ..utils.method_rng import MethodRNG, method_rng


@MODELS.register_module()
class HideAndSeek:
    """Hide random ``grid_size`` x ``grid_size`` pixel patches of every training image.

    A batch augment of :class:`WSOLDataPreprocessor` (training only, after the mean/std
    normalisation, so a hidden pixel is 0 = the dataset mean colour, as released). The
    image is tiled from its top-left corner into patches of ``grid_size`` pixels (the
    last row / column may be smaller); each patch of each image is hidden independently
    iff its uniform draw ``u <= drop_rate``. Draws are taken in the released order:
    image, then patch row, then patch column (a ``(B, rows, cols)`` C-order array).

    Args:
        grid_size (int): patch side in pixels; 0 disables the augment. Defaults to 4
            (wsolevaluation ``--has_grid_size``).
        drop_rate (float): probability of hiding a patch. Defaults to 0.5
            (wsolevaluation ``--has_drop_rate``).

    Examples:
        >>> has = HideAndSeek(grid_size=2, drop_rate=1.0)
        >>> has(torch.ones(1, 3, 4, 4), [])[0].sum().item()
        0.0
    """

    def __init__(self, grid_size: int = 4, drop_rate: float = 0.5) -> None:
        if int(grid_size) != grid_size or grid_size < 0:
            raise ValueError(f'HideAndSeek: grid_size must be an integer >= 0, got {grid_size} '
                             '(key `model.data_preprocessor.batch_augments`)')
        if not 0 <= drop_rate <= 1:
            raise ValueError(f'HideAndSeek: drop_rate must be in [0, 1], got {drop_rate} '
                             '(key `model.data_preprocessor.batch_augments`)')
        self.grid_size, self.drop_rate = int(grid_size), drop_rate
        self.rng: Optional[MethodRNG] = None  # None: the shared method_rng()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(grid_size={self.grid_size}, drop_rate={self.drop_rate})'

    def keep_mask(self, draws: np.ndarray, height: int, width: int) -> torch.Tensor:
        """Pixel keep-mask ``(B, 1, H, W)`` (bool) from the patch draws ``(B, rows, cols)``."""
        keep = torch.from_numpy(np.asarray(draws) > self.drop_rate)
        grid = self.grid_size
        keep = keep.repeat_interleave(grid, dim=1).repeat_interleave(grid, dim=2)
        return keep[:, None, :height, :width]

    def __call__(self, inputs: torch.Tensor, data_samples: List[WSOLDataSample]
                 ) -> Tuple[torch.Tensor, List[WSOLDataSample]]:
        """The batch with hidden patches (a new tensor) and the unchanged samples."""
        if self.grid_size == 0:
            return inputs, data_samples
        batch, _, height, width = inputs.shape
        rows, cols = math.ceil(height / self.grid_size), math.ceil(width / self.grid_size)
        draws = (self.rng or method_rng()).random((batch, rows, cols))
        keep = self.keep_mask(draws, height, width).to(inputs.device)
        return torch.where(keep, inputs, inputs.new_zeros(())), data_samples
