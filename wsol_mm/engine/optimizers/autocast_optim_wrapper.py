"""Mixed-precision training in bfloat16 on CPUs and GPUs (no loss scaling needed)."""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from wsol_mm.registry import OPTIM_WRAPPERS


def model_device_type(model: nn.Module) -> str:
    """``'cpu'``, ``'cuda'``, ... of the model's first parameter (``'cpu'`` if it has none)."""
    if is_model_wrapper(model):
        model = model.module
    param = next(model.parameters(), None)
    return 'cpu' if param is None else param.device.type


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under ``torch.autocast`` in bfloat16.

    mmengine's ``AmpOptimWrapper`` refuses to run without a GPU and scales the loss for
    float16. bfloat16 has float32's exponent range, so gradients cannot underflow the
    way float16 ones do and no loss scaler is needed: this wrapper only opens
    ``torch.autocast(<model device>, dtype=torch.bfloat16)`` around the data
    preprocessor and the forward pass (``optim_context``), on CPU (fast where the CPU
    has AVX-512-BF16 or AMX, see :func:`cpu_has_bf16`) or GPU. Parameters, gradients
    and optimizer states stay float32; the numerically sensitive parts of the models
    (Newton-Schulz in SSFM, crop boxes, CAM normalisation, losses) leave autocast and
    run in float32 (``wsol_mm.models.utils.precision``).

    ``tools/train.py --amp`` selects it. Checkpoints are those of ``OptimWrapper``;
    one saved by ``AmpOptimWrapper`` loads too (its loss-scaler state is dropped).

    Args:
        dtype (str): autocast dtype; only ``'bfloat16'`` (float16 needs a loss scaler:
            use ``AmpOptimWrapper`` on a GPU). Defaults to 'bfloat16'.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).

    Examples:
        >>> optim_wrapper = dict(type='AutocastOptimWrapper',
        ...                      optimizer=dict(type='AdamW', lr=5e-5))
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(f"AutocastOptimWrapper: dtype must be 'bfloat16', got {dtype!r} "
                             "(key `optim_wrapper.dtype`); float16 needs loss scaling: use "
                             "type='AmpOptimWrapper' on a GPU")
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Gradient-accumulation context of ``OptimWrapper`` plus bfloat16 autocast."""
        with super().optim_context(model), torch.autocast(
                device_type=model_device_type(model), dtype=self.cast_dtype):
            yield

    def load_state_dict(self, state_dict: dict) -> None:
        """Load the optimizer state (a loss-scaler entry of ``AmpOptimWrapper`` is dropped)."""
        state_dict = {k: v for k, v in state_dict.items() if k != 'loss_scaler'}
        super().load_state_dict(state_dict)
