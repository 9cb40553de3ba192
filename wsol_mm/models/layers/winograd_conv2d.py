"""A 3x3 convolution that trains by Winograd's F(4x4, 3x3) on CPU in float32."""
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS
from wsol_mm.utils.layer_choices import register_tuned_choices

from ..utils.onednn_linear_function import has_hooks
from ..utils.winograd_conv2d_function import WinogradConv2dFunction

# The narrowest layers worth it: on 2 AMD Zen 4 cores (benchmarks/winograd_conv.py, three
# runs) one layer's training step (forward + both gradients) ran 1.14-1.22x the direct
# convolution at 128->256 channels on 56x56, 1.21-1.43x at 256->256 (both 0.95-0.96x in one
# run's slow phase), 1.80-1.95x at 512->512 on 28x28; 128->128 ran 0.69-1.14x on 28x28 and
# 0.73x on 112x112, 64->64 0.40-0.43x on 224x224 (the tile transforms, not the products,
# dominate there).
MIN_IN_CHANNELS = 128
MIN_OUT_CHANNELS = 256
# ... and the smallest batch of 4x4 output tiles (images x tiles per image): with fewer, the
# filter transforms outweigh the products saved (512->512 channels: 0.68x at 8 tiles, 0.93-
# 0.95x at 32, 1.07x at 49, 1.17-1.43x at 98 = batch 2 at 28x28).
MIN_TILES = 64
# Whether F(4x4, 3x3) gains also depends on the CPU: it saves products, the direct
# convolution's bottleneck, and adds memory-bound tile transforms. On 2 Zen 4 cores (two
# 256-bit FMA pipes) a 512->512 layer trained 1.8-1.95x faster by it, on 2 Zen 5 cores
# (full 512-bit FMA pipes, direct convolutions twice as fast) 0.84-1.03x, while 1024
# output channels gained 1.1-1.5x there. So each input shape is timed once per process
# (forward and backward of both paths, fastest of TUNE_REPS), and the Winograd path is
# kept where it is at least TUNE_MARGIN times as fast: a near tie keeps the direct one,
# with 5x less rounding, less scratch memory and no coin toss between runs.
TUNE_REPS = 2
TUNE_MARGIN = 1.05
_FASTER: Dict[Tuple, bool] = {}


@MODELS.register_module()
class WinogradConv2d(nn.Conv2d):
    """``nn.Conv2d`` (3x3, stride 1, padding 1) that trains by F(4x4, 3x3) on CPU.

    In training mode, for a float32 CPU input outside autocast with at least
    :data:`MIN_TILES` 4x4 output tiles in the batch, the forward and both
    gradients run :class:`WinogradConv2dFunction` (4x fewer products; float rounding of
    ~1e-5 of the output's largest value instead of ~2e-6) where it is the faster path
    on this CPU for this input shape (:func:`winograd_is_faster`, timed once per
    process, like cuDNN's benchmark mode: a run can therefore pick the other path for a
    layer than the last run did, under a different load; a resumed run takes the choices
    stored in its checkpoint, see :mod:`wsol_mm.utils.layer_choices`). Evaluation, other dtypes
    (bfloat16 autocast, the float64 numerics fixtures), other devices and
    ``torch.compile`` tracing and small batches of small maps run ``nn.Conv2d`` as it
    is, so predicted maps and scores do not change. Same parameters and state-dict keys
    as ``nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size=3, padding=1, bias=bias)

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> 'WinogradConv2d':
        """A :class:`WinogradConv2d` holding ``conv``'s own parameter objects."""
        if not is_winograd_eligible(conv, min_in=1, min_out=1):
            raise ValueError(f'WinogradConv2d needs a 3x3, stride-1, padding-1, undilated, '
                             f'ungrouped nn.Conv2d with zero padding; got {conv}')
        layer = cls(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
        layer.weight, layer.bias = conv.weight, conv.bias
        layer.train(conv.training)
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight
        n, _, h, w = x.shape if x.dim() == 4 else (0, 0, 0, 0)
        if (self.training and x.dtype == torch.float32
                and weight.dtype == torch.float32 and x.device.type == 'cpu'
                and weight.device.type == 'cpu' and not torch.is_autocast_enabled('cpu')
                and not torch.compiler.is_compiling()
                and n * ((h + 3) // 4) * ((w + 3) // 4) >= MIN_TILES
                and winograd_is_faster(x, weight, self.bias)):
            return WinogradConv2dFunction.apply(x, weight, self.bias)
        return super().forward(x)


def winograd_is_faster(x: torch.Tensor, weight: torch.Tensor,
                       bias: Optional[torch.Tensor]) -> bool:
    """Whether :class:`WinogradConv2dFunction` trains this convolution at least
    :data:`TUNE_MARGIN` times as fast as the direct one on this machine: measured on the
    first call with these shapes, memory formats, gradient needs and thread count (on
    copies of ``x`` and the parameters, outside the caller's graph, without drawing
    random numbers), then remembered for the process."""
    key = (tuple(x.shape), tuple(weight.shape), bias is not None, x.stride(), weight.stride(),
           x.requires_grad, weight.requires_grad, torch.get_num_threads())
    if key not in _FASTER:
        with torch.enable_grad():
            args = tuple(None if t is None else t.detach().requires_grad_(t.requires_grad)
                         for t in (x, weight, bias))
            direct, winograd = _fastest([lambda: F.conv2d(*args, padding=1),
                                         lambda: WinogradConv2dFunction.apply(*args)],
                                        [t for t in args if t is not None and t.requires_grad])
        _FASTER[key] = winograd * TUNE_MARGIN < direct
    return _FASTER[key]


def _fastest(runs: List[Callable[[], torch.Tensor]], needs: List[torch.Tensor]) -> List[float]:
    """The fastest of :data:`TUNE_REPS` forward + backward passes of each of ``runs``,
    taking turns, after one warm-up each."""
    best = [float('inf')] * len(runs)
    for rep in range(TUNE_REPS + 1):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            out = run()
            if needs:
                torch.autograd.grad(out, needs, out.detach())
            if rep:
                best[i] = min(best[i], time.perf_counter() - start)
    return best


def _tuned() -> List[Tuple[tuple, bool]]:
    """This process's timed choices, ``(key, Winograd is faster)`` pairs, for checkpoints."""
    return list(_FASTER.items())


def _restore_tuned(items: List[Tuple[tuple, bool]]) -> None:
    """Take back :func:`_tuned`'s pairs (a checkpoint keeps the keys' tuples as they are)."""
    _FASTER.update(items)


# a resumed run takes the paths the run it continues timed (ExactResumeHook)
register_tuned_choices('winograd_conv2d', _tuned, _restore_tuned)


def is_winograd_eligible(conv: nn.Module, min_in: int = MIN_IN_CHANNELS,
                         min_out: int = MIN_OUT_CHANNELS) -> bool:
    """Whether ``conv`` is a plain ``nn.Conv2d`` that :class:`WinogradConv2d` can replace
    and that is wide enough to gain (``min_in`` / ``min_out`` channels)."""
    return (type(conv) is nn.Conv2d and conv.kernel_size == (3, 3) and conv.stride == (1, 1)
            and conv.padding == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == 'zeros' and conv.in_channels >= min_in
            and conv.out_channels >= min_out)


def use_winograd_convs(model: nn.Module) -> int:
    """Replace every eligible ``nn.Conv2d`` under ``model`` by a :class:`WinogradConv2d`
    holding the same parameters; return how many were replaced. Call it before hooks
    are registered: a convolution that already has hooks is left as it is."""
    swaps = [(parent, name, child) for parent in model.modules()
             for name, child in parent.named_children()
             if is_winograd_eligible(child) and not has_hooks(child)]
    for parent, name, child in swaps:
        setattr(parent, name, WinogradConv2d.from_conv(child))
    return len(swaps)

