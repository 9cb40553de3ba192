"""torchvision ResNet trunk with wsolevaluation's CAM strides."""
from typing import Dict, Iterable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torchvision
from mmengine.model import BaseModule
from torchvision.models.resnet import BasicBlock, Bottleneck

from wsol_mm.registry import MODELS

from ..layers import AttentionBasedDropout, RecomputedMaxPool2d
from ..utils import records_float32
from ..utils.onednn_linear_function import has_hooks
from ..utils.recomputed_batch_norm_relu_function import (
    bn_relu_recomputed,
    recomputable_bn,
    recomputable_conv,
)
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import load_torchvision_weights, read_torchvision_state

#: wsolevaluation ResNet50-ADL (``_ADL_POSITION``): ADL after these blocks of each stage.
ADL_POSITIONS = dict(layer3=(0, ), layer4=(0, 2))
_STAGES = ('layer1', 'layer2', 'layer3', 'layer4')

_ARCHS = {18: ('resnet18', 'ResNet18_Weights'), 34: ('resnet34', 'ResNet34_Weights'),
          50: ('resnet50', 'ResNet50_Weights'), 101: ('resnet101', 'ResNet101_Weights')}


def _set_stride(layer: nn.Sequential, stride: int) -> None:
    """Set the stride of a ResNet stage's first block (conv and shortcut)."""
    block = layer[0]
    conv = block.conv2 if hasattr(block, 'conv3') else block.conv1  # v1.5 bottleneck / basic
    conv.stride = (stride, stride)
    if block.downsample is not None:
        block.downsample[0].stride = (stride, stride)


def recomputable_block(block: nn.Module) -> bool:
    """Whether :func:`block_recomputed` reproduces ``block``: a torchvision ``Bottleneck``
    or ``BasicBlock`` in training mode without hooks, with bias-free zero-padded
    convolutions."""
    if type(block) not in (Bottleneck, BasicBlock):
        return False
    convs = (block.conv2, block.conv3) if type(block) is Bottleneck else (block.conv2, )
    bns = (block.bn1, block.bn2) if type(block) is Bottleneck else (block.bn1, )
    return (not any(has_hooks(m) for m in block.modules())
            and all(recomputable_conv(c) for c in convs) and all(recomputable_bn(b) for b in bns))


def block_recomputed(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``block(x)`` for a torchvision ``Bottleneck`` / ``BasicBlock``, its inner ReLU
    outputs (after ``bn1``, and ``bn2`` in a bottleneck) recomputed from their batch-norm
    inputs in the backward pass (:func:`bn_relu_recomputed`, fused with the next
    convolution) instead of kept; the rest as torchvision's ``forward``."""
    out = bn_relu_recomputed(block.bn1, block.conv1(x), conv=block.conv2)
    if type(block) is Bottleneck:
        out = block.bn3(bn_relu_recomputed(block.bn2, out, conv=block.conv3))
    else:
        out = block.bn2(out)
    out += x if block.downsample is None else block.downsample(x)
    return block.relu(out)


@MODELS.register_module()
class ResNetCAM(BackboneLRMixin, BaseModule):
    """ResNet whose last map is 1/16 (or 1/8) of the input, as wsolevaluation's ``ResNetCam``.

    layer4 always has stride 1; layer3 has stride 2, or 1 with
    ``large_feature_map`` (14x14 -> 28x28 maps for 224 inputs).

    Args:
        depth (int): 18, 34, 50 or 101.
        large_feature_map (bool): keep layer3 at stride 1. Defaults to False.
        pretrained (str, optional): a local torchvision state-dict path, or
            ``'torchvision'`` to download the ImageNet weights (needs internet).
            The ``fc`` entries are dropped. Defaults to None (random init).
        init_cfg (dict, optional): mmengine init config.
        adl (dict, optional): :class:`AttentionBasedDropout` arguments (``drop_rate``,
            ``drop_threshold``): insert ADL after the blocks of ``adl_positions``
            (wsolevaluation ``ResNetAdl``). Parameter-free: checkpoint keys are those
            of the plain model. Defaults to None (no ADL).
        adl_positions (dict, optional): ``{stage: block indices}`` after which ADL
            runs. Defaults to ``ADL_POSITIONS`` (ResNet50: layer3 block 0, layer4
            blocks 0 and 2).
        recompute_bn_relu (bool): in float32 training, the stem's ReLU output (read by
            the max pool) and each block's inner ReLU outputs are recomputed from their
            batch-norm inputs in the backward pass instead of kept
            (:func:`block_recomputed`): the outputs of torchvision's layers up to float
            rounding (batch norm as one multiply-add) and the gradients of the outputs
            computed: the ResNet50 trunk saves 684 instead of 820 MB at batch 8, 224 px.
            Modules with hooks, evaluation, autocast and ``torch.compile`` run
            torchvision's layers. Defaults to True.

    Examples:
        >>> m = ResNetCAM(depth=18)
        >>> tuple(m(torch.rand(1, 3, 224, 224))[0].shape)
        (1, 512, 14, 14)
    """

    # wsolevaluation main.py: layer4 on the classifier lr; Small Object Matters' official
    # patterns miss the stem BatchNorm `bn1` (here `stem.1`), so only it stays at base lr.
    lr_groups = dict(wsolevaluation=('classifier', ('layer4.', )),
                     small_object_matters=('features', ('stem.1.', )))

    def __init__(self, depth: int = 50, large_feature_map: bool = False,
                 pretrained: Optional[str] = None, init_cfg: Optional[dict] = None,
                 adl: Optional[dict] = None,
                 adl_positions: Optional[Dict[str, Sequence[int]]] = None,
                 recompute_bn_relu: bool = True) -> None:
        super().__init__(init_cfg=init_cfg)
        self.recompute_bn_relu = recompute_bn_relu
        if depth not in _ARCHS:
            raise ValueError(f'ResNetCAM depth must be one of {sorted(_ARCHS)}, got {depth}')
        arch, weights_enum = _ARCHS[depth]
        # read first: a missing weights file fails before the layers are built
        state = read_torchvision_state(pretrained, weights_enum) if pretrained else None
        net = getattr(torchvision.models, arch)(weights=None)
        self.depth = depth
        self.large_feature_map = large_feature_map
        # torchvision's 3x3/2 max-pool, without int64 indices kept for the backward pass
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu,
                                  RecomputedMaxPool2d(kernel_size=3, stride=2, padding=1))
        self.layer1, self.layer2, self.layer3, self.layer4 = (net.layer1, net.layer2, net.layer3,
                                                              net.layer4)
        _set_stride(self.layer3, 1 if large_feature_map else 2)
        _set_stride(self.layer4, 1)
        self.out_channels = net.fc.in_features
        self.adl_layers = self._build_adl(adl, adl_positions) if adl is not None else None
        if pretrained:
            load_torchvision_weights(self, pretrained, arch, weights_enum,
                                     key_map=dict(conv1='stem.0', bn1='stem.1'), state=state)
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def _build_adl(self, adl: dict, positions: Optional[Dict[str, Sequence[int]]]
                   ) -> nn.ModuleDict:
        """One ADL per ``(stage, block)`` position, keyed ``'<stage>_<block>'``."""
        if type(self).forward is not ResNetCAM.forward:
            raise TypeError(f'{type(self).__name__} does not support `adl`; use ResNetCAM')
        layers = nn.ModuleDict()
        for stage, blocks in (ADL_POSITIONS if positions is None else positions).items():
            size = len(getattr(self, stage)) if stage in _STAGES else 0
            for block in blocks:
                if stage not in _STAGES or not 0 <= block < size:
                    raise ValueError(f'ResNetCAM(depth={self.depth}): ADL position {stage}.'
                                     f'{block} does not exist; `adl_positions` takes stages '
                                     f'{_STAGES} and block indices < their block count')
                layers[f'{stage}_{block}'] = AttentionBasedDropout(**adl)
        return layers

    def _recomputes(self, x: torch.Tensor) -> bool:
        """Whether ``recompute_bn_relu`` applies to this forward (see the class docstring)."""
        return self.recompute_bn_relu and self.training and records_float32(x)

    def run_stem(self, x: torch.Tensor) -> torch.Tensor:
        """``self.stem(x)``, its ReLU output recomputed where ``recompute_bn_relu`` applies."""
        conv, bn, _, pool = self.stem
        if (self._recomputes(x) and not any(has_hooks(m) for m in self.stem.modules())
                and recomputable_bn(bn) and type(pool) is RecomputedMaxPool2d
                and all(isinstance(v, int) for v in (pool.kernel_size, pool.stride,
                                                      pool.padding))
                and pool.dilation == 1):
            return bn_relu_recomputed(bn, conv(x), pool=(pool.kernel_size, pool.stride,
                                                          pool.padding, pool.ceil_mode))
        return self.stem(x)

    def run_blocks(self, blocks: Iterable[nn.Module], x: torch.Tensor) -> torch.Tensor:
        """The ``blocks`` in turn, each by :func:`block_recomputed` where
        ``recompute_bn_relu`` applies, else as it is."""
        recompute = self._recomputes(x)
        for block in blocks:
            x = block_recomputed(block, x) if recompute and recomputable_block(block) \
                else block(x)
        return x

    def _stage(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """Run one stage, with ADL after the blocks that have one."""
        stage = getattr(self, name)
        if has_hooks(stage) or (self.adl_layers is None and not self._recomputes(x)):
            return stage(x)
        for i, block in enumerate(stage):
            x = self.run_blocks((block, ), x)
            if self.adl_layers is not None and f'{name}_{i}' in self.adl_layers:
                x = self.adl_layers[f'{name}_{i}'](x)
        return x

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Return a 1-tuple with the layer4 map."""
        x = self.run_stem(x)
        for name in _STAGES:
            x = self._stage(name, x)
        return (x, )
