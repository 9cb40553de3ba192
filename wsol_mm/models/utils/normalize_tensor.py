"""wsolevaluation's per-map min-max (``wsol/method/util.py normalize_tensor``), unguarded."""
import torch

from .precision import at_least_float32


def normalize_tensor(maps: torch.Tensor) -> torch.Tensor:
    """``(x - min) / (max - min)`` over the last two dims of every map, in at least float32.

    Unlike the score-map normalisers (``MinMaxNorm``), a constant map gives NaN, as in
    wsolevaluation, and callers rely on it: ACoL's erasure (``NaN >= t`` is False: nothing
    erased) and SPG's masks (every NaN pixel is ignored) behave as released, and a NaN
    ACoL CAM becomes all zeros in the final normalisation, as the released
    ``normalize_scoremap`` does.

    Args:
        maps (Tensor): ``(..., h, w)`` maps.

    Examples:
        >>> normalize_tensor(torch.tensor([[[1., 3.], [2., 5.]]]))
        tensor([[[0.0000, 0.5000],
                 [0.2500, 1.0000]]])
    """
    flat = at_least_float32(maps).flatten(-2)
    low = flat.amin(-1, keepdim=True)
    high = flat.amax(-1, keepdim=True)
    return ((flat - low) / (high - low)).view(maps.shape)
