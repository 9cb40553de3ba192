"""VGG16 trunk of wsolevaluation's ``VggAcol`` (overlapping pools, no conv6)."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS

from ..layers import RecomputedMaxPool2d
from ..utils import init_wsol_weights
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import load_torchvision_weights, read_torchvision_state
from .vgg16_cam import make_vgg_features

# 'M1' = 3x3/2 max-pool (padding 1), 'M2' = 3x3/1 max-pool (padding 1). The pools sit where
# torchvision's 2x2 pools are, so the conv indices (`features.<idx>`) are torchvision's.
_LAYERS_14 = [64, 64, 'M1', 128, 128, 'M1', 256, 256, 256, 'M1', 512, 512, 512, 'M1',
              512, 512, 512, 'M2']
_LAYERS_28 = [64, 64, 'M1', 128, 128, 'M1', 256, 256, 256, 'M1', 512, 512, 512, 'M2',
              512, 512, 512, 'M2']


# wsolevaluation's VggAcol: 3x3/2 pools ('M1') and a 3x3/1 last pool ('M2'), padding 1
_POOLS = {'M1': lambda: RecomputedMaxPool2d(kernel_size=3, stride=2, padding=1),
          'M2': lambda: RecomputedMaxPool2d(kernel_size=3, stride=1, padding=1)}


@MODELS.register_module()
class VGG16ACoLCAM(BackboneLRMixin, BaseModule):
    """VGG16 (no BN) as wsolevaluation's ACoL network: 512-channel map, no conv6.

    Every 2x2 max-pool of VGG16 becomes a 3x3/2 (padding 1) pool; the last pool (and,
    with ``large_feature_map``, pool4) is a 3x3/1 pool; a 3x3/1 average pool (padding 1)
    follows. 224 inputs give 14x14 (or 28x28) maps. The classifiers are
    :class:`ACoLHead`. Conv indices equal torchvision's ``vgg16.features``, so its
    weights load unchanged. Xavier init (as ``VggAcol``) unless pretrained.

    Args:
        large_feature_map (bool): pool4 at stride 1 (28x28 maps). Defaults to False.
        pretrained (str, optional): a local torchvision ``vgg16`` state-dict path, or
            ``'torchvision'`` (downloads). ``classifier.*`` is dropped. Defaults to None.
        init_cfg (dict, optional): mmengine init config.

    Examples:
        >>> m = VGG16ACoLCAM()
        >>> tuple(m(torch.rand(1, 3, 224, 224))[-1].shape)
        (1, 512, 14, 14)
    """

    # wsolevaluation main.py: VGG `features.*` at the base lr (the head is new).
    lr_groups = dict(wsolevaluation=('classifier', ()))

    out_channels = 512

    def __init__(self, large_feature_map: bool = False, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # read first: a missing weights file fails before the layers are built
        state = read_torchvision_state(pretrained, 'VGG16_Weights') if pretrained else None
        self.large_feature_map = large_feature_map
        self.features = make_vgg_features(_LAYERS_28 if large_feature_map else _LAYERS_14, _POOLS)
        init_wsol_weights(self, 'xavier')
        if pretrained:
            load_torchvision_weights(self, pretrained, 'vgg16', 'VGG16_Weights',
                                     drop_prefixes=('classifier.', ), state=state)
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Return a 1-tuple with the average-pooled conv5 map ``(B, 512, h, w)``."""
        return (F.avg_pool2d(self.features(x), kernel_size=3, stride=1, padding=1), )
