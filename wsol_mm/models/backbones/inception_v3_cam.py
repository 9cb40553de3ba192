"""Inception-v3 trunk up to Mixed_6e with wsolevaluation's ``InceptionCam`` changes."""
from functools import partial
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torchvision.models.inception import BasicConv2d, InceptionA, InceptionC

from wsol_mm.registry import MODELS

from ..layers import AttentionBasedDropout
from ..utils import init_wsol_weights, max_pool2d_recomputed, records_float32
from ..utils.onednn_linear_function import has_hooks
from ..utils.recomputed_batch_norm_relu_function import (
    bn_relu_recomputed,
    recomputable_bn,
    recomputable_conv,
)
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import load_torchvision_weights, read_torchvision_state


class _InceptionBStride1(nn.Module):
    """torchvision's InceptionB (Mixed_6a) at stride 1 / padding 1 (keeps the grid).

    The child names equal torchvision's, so its weights load unchanged.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=1, padding=1)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = max_pool2d_recomputed(x, 3, 1, 1)
        return torch.cat([self.branch3x3(x), dbl, pool], 1)


# each branch of torchvision's InceptionA / InceptionC: its BasicConv2d layers in order, the
# pool branch (3x3/1 average pool first) marked by None
_BRANCHES = {
    InceptionA: (('branch1x1', ), ('branch5x5_1', 'branch5x5_2'),
                 ('branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'), (None, 'branch_pool')),
    InceptionC: (('branch1x1', ), ('branch7x7_1', 'branch7x7_2', 'branch7x7_3'),
                 ('branch7x7dbl_1', 'branch7x7dbl_2', 'branch7x7dbl_3', 'branch7x7dbl_4',
                  'branch7x7dbl_5'), (None, 'branch_pool')),
}


def concat_then_relu(block: nn.Module, x: torch.Tensor, recompute: bool = False) -> torch.Tensor:
    """``block(x)`` for torchvision's InceptionA / InceptionC, the branches' last ReLU
    applied once, in place, to their concatenation.

    torchvision's block applies a ReLU at the end of each branch (which saves its output
    for its gradient) and concatenates the results (a copy, which the next layers save):
    the block's output is kept twice through the training step. ``relu(cat(b)) ==
    cat(relu(b))`` element for element, so concatenating the batch-normalised branches
    first and applying one in-place ReLU gives the same output and gradients with one
    copy kept (the branch tensors are freed after the concatenation). Each branch gets
    its gradient as a dense tensor in its own memory order, as from the branch's ReLU
    before (batch norm's backward runs a slow path on a channel slice). ``recompute``:
    the layers inside a branch run by :func:`run_chain` (the caller checks
    :func:`recomputable`).
    """
    outs: List[torch.Tensor] = []
    for branch in _BRANCHES[type(block)]:
        y = x
        if branch[0] is None:
            y, branch = F.avg_pool2d(y, kernel_size=3, stride=1, padding=1), branch[1:]
        layers = [getattr(block, name) for name in branch]
        if recompute:
            y = run_chain(layers, y, end='bn')
        else:
            for layer in layers[:-1]:
                y = layer(y)
            y = layers[-1].bn(layers[-1].conv(y))
        if y.requires_grad:  # batch norm's backward on a channel slice: ~18x slower
            y.register_hook(partial(_dense, _memory_format(y)))
        outs.append(y)
    return torch.cat(outs, 1).relu_()


def recomputable(layers: Sequence[nn.Module]) -> bool:
    """Whether :func:`run_chain` reproduces ``layers`` (torchvision ``BasicConv2d`` layers
    in training mode, without hooks, bias-free zero-padded convolutions)."""
    return all(type(m) is BasicConv2d and not has_hooks(m) and recomputable_bn(m.bn)
               and recomputable_conv(m.conv) for m in layers)


def run_chain(layers: Sequence[nn.Module], x: torch.Tensor, end: str,
              pool: Optional[Tuple[int, int, int, bool]] = None) -> torch.Tensor:
    """``BasicConv2d`` layers applied in turn to ``x``, every ReLU output but the last
    recomputed in the backward pass (:func:`bn_relu_recomputed`, fused with the next
    layer's convolution): the chain keeps each layer's convolution output only.

    ``end``: ``'bn'`` returns the last layer's batch-norm output (no ReLU; for
    :func:`concat_then_relu`), ``'pool'`` its ReLU output max-pooled by ``pool = (kernel,
    stride, padding, ceil_mode)``, with that ReLU output recomputed too.
    """
    c = layers[0].conv(x)
    for prev, layer in zip(layers, layers[1:]):
        c = bn_relu_recomputed(prev.bn, c, conv=layer.conv)
    if end == 'bn':
        return layers[-1].bn(c)
    return bn_relu_recomputed(layers[-1].bn, c, pool=pool)


def _memory_format(t: torch.Tensor) -> torch.memory_format:
    """channels_last for a channels-last 4-D tensor, else the default order."""
    return torch.channels_last if t.dim() == 4 and not t.is_contiguous() and \
        t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format


def _dense(memory_format: torch.memory_format, grad: torch.Tensor) -> torch.Tensor:
    """The gradient of a branch (a channel slice of the concatenation's) as a dense tensor."""
    return grad.contiguous(memory_format=memory_format)


@MODELS.register_module()
class InceptionV3CAM(BackboneLRMixin, BaseModule):
    """Inception-v3 up to Mixed_6e, 1/16 (or 1/8) resolution, 768 channels.

    Changes to torchvision's trunk (as wsolevaluation): ``Conv2d_1a_3x3`` has
    padding 1; the two stem max-pools are 3x3/2 with padding 1 and ceil mode
    (224 -> 28x28 after Mixed_5d); unless ``large_feature_map``, an extra
    3x3/2 ceil-mode max-pool (no padding) gives 14x14; Mixed_6a has stride 1.
    Mixed_7*, AuxLogits and fc are absent; the classifier is the head
    (:class:`ConvClassMapHead`). Xavier init, then optional ImageNet weights.

    Args:
        large_feature_map (bool): skip the pool after Mixed_5d. Defaults to False.
        pretrained (str, optional): a local torchvision ``inception_v3`` state-dict
            path, or ``'torchvision'`` (downloads ``inception_v3_google``).
            Mixed_7*, AuxLogits and fc are dropped. Defaults to None.
        init_cfg (dict, optional): mmengine init config, applied by
            ``init_weights`` only when ``pretrained`` is None.
        adl (dict, optional): :class:`AttentionBasedDropout` arguments: ADL after
            Mixed_5d (before the extra pool) and after Mixed_6e, as wsolevaluation's
            ``InceptionAdl`` (its third ADL sits in the head:
            :class:`ADLConvClassMapHead`). Parameter-free. Defaults to None.
        relu_after_cat (bool): in float32 training, Mixed_5b-5d and Mixed_6b-6e apply
            their branches' last ReLU once to the concatenated output
            (:func:`concat_then_relu`) instead of keeping each block's output twice
            through the step (once per branch for the ReLUs, once concatenated): the
            same values and gradients, 75 MB fewer saved bytes in the CAM step at batch 8
            with ``large_feature_map``. Evaluation, autocast, ``torch.compile`` and blocks
            with hooks run torchvision's blocks as they are. Defaults to True.
        recompute_bn_relu (bool): in float32 training, the stem and the layers inside the
            blocks' branches keep their convolution outputs only: each ReLU output that
            only a later convolution or max pool reads is recomputed from its batch-norm
            input in the backward pass (:func:`run_chain`; one multiply-add and a ReLU
            per element). The outputs match torchvision's layers up to float rounding
            (batch norm as one multiply-add), the gradients are those of the outputs
            computed; the trunk saves 556 instead of 735 MB at batch 8, 224 px, with
            ``large_feature_map``. The branches' layers only where ``relu_after_cat``
            applies; evaluation, autocast, ``torch.compile`` and layers with hooks run
            torchvision's layers. Defaults to True.

    Examples:
        >>> m = InceptionV3CAM()
        >>> tuple(m(torch.rand(1, 3, 224, 224))[-1].shape)
        (1, 768, 14, 14)
    """

    # wsolevaluation main.py: the whole trunk at the base lr (the head is new).
    lr_groups = dict(wsolevaluation=('classifier', ()))

    out_channels = 768

    def __init__(self, large_feature_map: bool = False, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None, adl: Optional[dict] = None,
                 relu_after_cat: bool = True, recompute_bn_relu: bool = True) -> None:
        super().__init__(init_cfg=init_cfg)
        self.relu_after_cat = relu_after_cat
        self.recompute_bn_relu = recompute_bn_relu
        # read first: a missing weights file fails before the layers are built
        state = read_torchvision_state(pretrained, 'Inception_V3_Weights') \
            if pretrained else None
        self.large_feature_map = large_feature_map
        self.adl_layers = None if adl is None else nn.ModuleDict(
            {name: AttentionBasedDropout(**adl) for name in ('Mixed_5d', 'Mixed_6e')})
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2, padding=1)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = _InceptionBStride1(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        init_wsol_weights(self, 'xavier')
        if pretrained:
            load_torchvision_weights(self, pretrained, 'inception_v3', 'Inception_V3_Weights',
                                     drop_prefixes=('fc.', 'AuxLogits.', 'Mixed_7'), state=state)
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Return a 1-tuple with the Mixed_6e map ``(B, 768, h, w)``."""
        x = self.run_stem(x)
        for name in ('Mixed_5b', 'Mixed_5c', 'Mixed_5d'):
            x = self.run_block(name, x)
        x = self._adl('Mixed_5d', x)
        if not self.large_feature_map:
            x = max_pool2d_recomputed(x, 3, 2, ceil_mode=True)
        x = self.Mixed_6a(x)
        for name in ('Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e'):
            x = self.run_block(name, x)
        return (self._adl('Mixed_6e', x), )

    def run_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Conv2d_1a_3x3 to the max pool after Conv2d_4a_3x3; by :func:`run_chain` where
        ``recompute_bn_relu`` applies (see the class docstring)."""
        pool = (3, 2, 1, True)
        first, second = [self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3], \
            [self.Conv2d_3b_1x1, self.Conv2d_4a_3x3]
        if (self.recompute_bn_relu and self.training and records_float32(x)
                and recomputable(first + second)):
            return run_chain(second, run_chain(first, x, 'pool', pool), 'pool', pool)
        for layer in first:
            x = layer(x)
        x = max_pool2d_recomputed(x, *pool[:3], ceil_mode=True)
        for layer in second:
            x = layer(x)
        return max_pool2d_recomputed(x, *pool[:3], ceil_mode=True)

    def run_block(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Block ``name`` on ``x``: by :func:`concat_then_relu` where ``relu_after_cat``
        applies (see the class docstring), else the block itself."""
        block = getattr(self, name)
        if (self.relu_after_cat and self.training and records_float32(x)
                and type(block) in _BRANCHES
                and not any(has_hooks(m) for m in block.modules())):
            children = list(block.children())
            return concat_then_relu(block, x, self.recompute_bn_relu and recomputable(children))
        return block(x)

    def _adl(self, after: str, x: torch.Tensor) -> torch.Tensor:
        """ADL after block ``after`` when enabled, else ``x``."""
        return x if self.adl_layers is None else self.adl_layers[after](x)
