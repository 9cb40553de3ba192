"""Precision policy of the numerically sensitive parts (CAM maths, losses, crops)."""
import torch


def at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """``x`` in float32, or unchanged if it is already float32 or float64.

    CAM post-processing, losses and crop boxes run in float32 even under AMP
    (float16/bfloat16 inputs are upcast); a float64 model stays float64, which is
    how the numerics fixtures are recorded (machine-independent to ~1e-12).
    """
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def autocast_off(x: torch.Tensor) -> torch.autocast:
    """A context that leaves autocast on ``x``'s device.

    Upcasting alone is not enough under autocast: its matrix products (``@``,
    ``einsum``, convolutions) cast float32 inputs back to bfloat16/float16. Losses whose
    maths needs float32 (cosines clamped to ``1 - 5e-4``, ...) run inside this context
    on :func:`at_least_float32` inputs.
    """
    return torch.autocast(device_type=x.device.type, enabled=False)


def records_float32(x: torch.Tensor) -> bool:
    """Whether autograd records float32 operations on ``x`` as written: gradients on, ``x``
    float32, no autocast on its device, no ``torch.compile`` tracing. The memory-saving
    training paths of the backbones (``VGG16CAM.recompute_stem``,
    ``InceptionV3CAM.relu_after_cat``, ``recompute_bn_relu``) apply only then (not on
    the meta device, which has no autocast state)."""
    return (torch.is_grad_enabled() and x.dtype == torch.float32 and x.device.type != 'meta'
            and not torch.is_autocast_enabled(x.device.type)
            and not torch.compiler.is_compiling())
