"""VGG16 conv stack + conv6, as wsolevaluation's ``VggCam``."""
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS

from ..layers import AttentionBasedDropout, RecomputedMaxPool2d
from ..utils import init_wsol_weights, records_float32
from ..utils.onednn_linear_function import has_hooks
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import load_torchvision_weights, read_torchvision_state

# VGG16 configuration "D": channels per 3x3 conv, 'M' = 2x2/2 max-pool.
# wsolevaluation drops pool5 (14x14 maps) or pool4 and pool5 (28x28).
_LAYERS_14 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512]
_LAYERS_28 = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 512, 512, 512]
# torchvision indices of conv5_1..conv5_3; without pool4 they move one slot up.
_CONV5_RENAMES = {'features.24': 'features.23', 'features.26': 'features.25',
                  'features.28': 'features.27'}
# wsolevaluation VGG16-ADL ('A' in its layer lists): after pool3, conv4_3 and conv5_3 (+ReLU).
_ADL_AFTER = dict(pool3=('pool', 3), conv4_3=('conv', 10), conv5_3=('conv', 13))
# conv1_1, its ReLU and conv1_2: the part of ``features`` that recompute_stem runs
_STEM = 3
_RECOMPUTED = object()  # what autograd keeps in place of the recomputed output


def make_vgg_features(layers: List[Union[int, str]],
                      pools: Optional[Dict[str, Callable[[], nn.Module]]] = None
                      ) -> nn.Sequential:
    """VGG's ``features`` stack: an int is a 3x3 conv (+ReLU) to that many channels, a
    string a pool built by ``pools[token]`` (default ``'M'``: 2x2/2 max-pool). Module indices
    equal torchvision's ``vgg16.features`` whatever the pools are (they hold no weights).
    """
    pools = pools or {'M': lambda: RecomputedMaxPool2d(kernel_size=2, stride=2)}
    modules: List[nn.Module] = []
    in_channels = 3
    for v in layers:
        if isinstance(v, str):
            modules.append(pools[v]())
        else:
            modules += [nn.Conv2d(in_channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    return nn.Sequential(*modules)


def recompute_stem_output(conv1: nn.Module, relu1: nn.Module, conv2: nn.Module,
                          x: torch.Tensor) -> torch.Tensor:
    """``conv2(relu1(conv1(x)))`` whose backward pass recomputes ``relu1(conv1(x))``.

    ``relu1(conv1(x))`` is what ``conv2`` (its weight gradient) and ``relu1`` (its mask)
    save; autograd stores a marker instead (``saved_tensors_hooks``) and the first of
    them to need it in the backward pass computes it again from ``x`` (a deterministic
    forward: the same values), shared with the other and freed with their saved
    tensors. ``conv2``'s input stays the forward's tensor: only what is saved changes.
    """
    state = {}  # the output's address, then the recomputed tensor

    def pack(t: torch.Tensor):
        if state.get('ptr') == t.data_ptr() and state.get('shape') == t.shape:
            return _RECOMPUTED
        return t

    def unpack(t):
        if t is not _RECOMPUTED:
            return t
        if 'out' not in state:
            with torch.no_grad():
                state['out'] = relu1(conv1(x))
        return state['out']

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        out = conv1(x)
        state.update(ptr=out.data_ptr(), shape=out.shape)
        return conv2(relu1(out))


@MODELS.register_module()
class VGG16CAM(BackboneLRMixin, BaseModule):
    """VGG16 (no BN) without its last pool(s), then conv6 3x3 512->1024 + ReLU.

    The map is 1/16 of the input (14x14 for 224) or, with ``large_feature_map``,
    1/8 (28x28). Parameter names follow torchvision (``features.<idx>``) and
    wsolevaluation (``conv6``), so its checkpoints convert by prefixing.
    New layers use He (fan_out) init; the conv stack too unless pretrained.

    Args:
        large_feature_map (bool): also drop pool4. Defaults to False.
        pretrained (str, optional): a local torchvision ``vgg16`` state-dict path,
            or ``'torchvision'`` to download the ImageNet weights (needs
            internet). The ``classifier.*`` entries are dropped; conv6 stays
            random. Defaults to None (random init).
        init_cfg (dict, optional): mmengine init config, applied by
            ``init_weights`` only when ``pretrained`` is None.
        adl (dict, optional): :class:`AttentionBasedDropout` arguments: ADL after
            pool3, after conv4_3 (+ReLU, before pool4) and after conv5_3 (+ReLU,
            before conv6), as wsolevaluation's VGG16-ADL. Parameter-free: the
            checkpoint keys stay those of the plain model (the released ADL model
            shifts the ``features`` indices; the converter maps them). Defaults to None.
        recompute_stem (bool): in float32 training, autograd keeps the image instead
            of conv1_1's ReLU output (which conv1_2 and the ReLU save for their
            gradients) and computes that output again when the backward pass reaches
            them (:func:`recompute_stem_output`): the largest saved activation of the
            step (64 x 224 x 224 floats per image, 103 MB at batch 8) for one more
            conv1_1 (3 input channels; about 40 ms, under 1 % of a batch-8 step on 2
            CPU cores). The same values and gradients. Skipped where conv1_1 or its
            ReLU has hooks (they would run twice), under autocast, outside training or
            autograd and under ``torch.compile``. Defaults to True.

    Examples:
        >>> m = VGG16CAM()
        >>> tuple(m(torch.rand(1, 3, 224, 224))[-1].shape)
        (1, 1024, 14, 14)
    """

    # wsolevaluation main.py: conv6 on the classifier lr.
    lr_groups = dict(wsolevaluation=('classifier', ('conv6.', )))

    out_channels = 1024

    def __init__(self, large_feature_map: bool = False, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None, adl: Optional[dict] = None,
                 recompute_stem: bool = True) -> None:
        super().__init__(init_cfg=init_cfg)
        self.recompute_stem = recompute_stem
        # read first: a missing weights file fails before the layers are built
        state = read_torchvision_state(pretrained, 'VGG16_Weights') if pretrained else None
        self.large_feature_map = large_feature_map
        self.features = make_vgg_features(_LAYERS_28 if large_feature_map else _LAYERS_14)
        self.adl_layers = self._build_adl(adl) if adl is not None else None
        self.conv6 = nn.Conv2d(512, 1024, kernel_size=3, padding=1)
        self.relu = nn.ReLU(inplace=False)
        init_wsol_weights(self, 'he')
        if pretrained:
            load_torchvision_weights(self, pretrained, 'vgg16', 'VGG16_Weights',
                                     key_map=_CONV5_RENAMES if large_feature_map else None,
                                     drop_prefixes=('classifier.', ), state=state)
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def _build_adl(self, adl: dict) -> nn.ModuleDict:
        """ADL modules keyed by the ``features`` index they follow."""
        if type(self).forward is not VGG16CAM.forward:
            raise TypeError(f'{type(self).__name__} does not support `adl`; use VGG16CAM')
        seen = dict(pool=0, conv=0)
        after = {}
        for idx, module in enumerate(self.features):
            kind = 'pool' if isinstance(module, nn.MaxPool2d) else \
                'conv' if isinstance(module, nn.Conv2d) else None
            if kind:
                seen[kind] += 1
                # a conv's ADL follows its ReLU (idx + 1)
                after.update({(kind, seen[kind]): idx + (kind == 'conv')})
        return nn.ModuleDict({str(after[pos]): AttentionBasedDropout(**adl)
                              for pos in _ADL_AFTER.values()})

    def run_features(self, x: torch.Tensor, stop: Optional[int] = None) -> torch.Tensor:
        """``self.features[:stop](x)``, conv1_1's ReLU output recomputed in the backward
        pass where ``recompute_stem`` applies (see the class docstring)."""
        conv1, relu1, conv2 = self.features[:_STEM]
        if (self.recompute_stem and self.training and records_float32(x)
                and (stop is None or stop >= _STEM)
                and not (has_hooks(conv1) or has_hooks(relu1))):
            return self.features[_STEM:stop](recompute_stem_output(conv1, relu1, conv2, x))
        return self.features[:stop](x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Return a 1-tuple with the conv6 (+ReLU) map ``(B, 1024, h, w)``."""
        if self.adl_layers is None:
            return (self.relu(self.conv6(self.run_features(x))), )
        x = self.run_features(x, _STEM)  # no ADL in the stem
        for idx, module in enumerate(self.features):
            if idx < _STEM:
                continue
            x = module(x)
            if str(idx) in self.adl_layers:
                x = self.adl_layers[str(idx)](x)
        return (self.relu(self.conv6(x)), )
