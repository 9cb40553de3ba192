"""Precision policy of the numerically sensitive parts (CAM maths, losses, crops)."""
import torch


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32, or unchanged if it is already float32 or float64.

    CAM post-processing, losses and crop boxes run in float32 even under AMP
    (float16/bfloat16 inputs are upcast); a float64 model stays float64, which is
    how the numerics fixtures are recorded (machine-independent to ~1e-12).
    """
    return x if x.dtype in (torch.float32, torch.float64) else x.float()
