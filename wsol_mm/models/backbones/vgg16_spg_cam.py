"""VGG16 trunk of wsolevaluation's ``VggSpg`` (conv4 / conv5 blocks as SPG_A_1 / SPG_A_2)."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS

from ..utils import init_wsol_weights
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import load_torchvision_weights, read_torchvision_state
from .vgg16_cam import make_vgg_features

# conv1-3 blocks with VGG16's 2x2 pools (torchvision indices 0..16)
_LAYERS = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M']
# torchvision conv4 / conv5 convs -> the released block names
_RENAMES = {'features.17': 'SPG_A_1.0', 'features.19': 'SPG_A_1.2', 'features.21': 'SPG_A_1.4',
            'features.24': 'SPG_A_2.0', 'features.26': 'SPG_A_2.2', 'features.28': 'SPG_A_2.4'}


def _conv_block(in_channels: int, channels: int, num_convs: int) -> nn.Sequential:
    modules: List[nn.Module] = []
    for i in range(num_convs):
        modules += [nn.Conv2d(in_channels if i == 0 else channels, channels, 3, padding=1),
                    nn.ReLU(inplace=True)]
    return nn.Sequential(*modules)


@MODELS.register_module()
class VGG16SPGCAM(BackboneLRMixin, BaseModule):
    """VGG16 (no BN) as wsolevaluation's SPG network, returning ``(B1 map, B2 map, map)``.

    conv1-3 blocks with their pools (``features``, 1/8 resolution), the conv4 block
    (``SPG_A_1``), a 3x3/2 max-pool (padding 1) unless ``large_feature_map``, the conv5
    block (``SPG_A_2``); no pool5, no conv6. Branch B1 of :class:`SPG` reads the map
    after ``SPG_A_1`` (and the pool), branch B2 and the head the ``SPG_A_2`` map
    (512 channels, 14x14 or 28x28 at 224), so the last two outputs are the same
    tensor. The head (released ``SPG_A_3`` + ``SPG_A_4``) is a
    :class:`ConvClassMapHead` with ``mid_channels=512, dropout=0``. Xavier init (as
    ``VggSpg``) unless pretrained.

    Args:
        large_feature_map (bool): no pool between conv4 and conv5 (28x28 maps).
            Defaults to False.
        pretrained (str, optional): a local torchvision ``vgg16`` state-dict path, or
            ``'torchvision'`` (downloads); conv4 / conv5 are renamed as the released
            ``batch_replace_layer``; ``classifier.*`` is dropped. Defaults to None.
        init_cfg (dict, optional): mmengine init config.

    Examples:
        >>> m = VGG16SPGCAM()
        >>> [tuple(f.shape[1:]) for f in m(torch.rand(1, 3, 224, 224))]
        [(512, 14, 14), (512, 14, 14), (512, 14, 14)]
    """

    # wsolevaluation main.py puts every VGG parameter whose name lacks `features.` on the
    # classifier lr: here the pretrained conv4 / conv5 blocks too.
    lr_groups = dict(wsolevaluation=('classifier', ('SPG_A_1.', 'SPG_A_2.')))

    out_channels = 512

    def __init__(self, large_feature_map: bool = False, pretrained: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        # read first: a missing weights file fails before the layers are built
        state = read_torchvision_state(pretrained, 'VGG16_Weights') if pretrained else None
        self.large_feature_map = large_feature_map
        self.features = make_vgg_features(_LAYERS)
        self.SPG_A_1 = _conv_block(256, 512, 3)
        self.SPG_A_2 = _conv_block(512, 512, 3)
        init_wsol_weights(self, 'xavier')
        if pretrained:
            load_torchvision_weights(self, pretrained, 'vgg16', 'VGG16_Weights',
                                     key_map=_RENAMES, drop_prefixes=('classifier.', ), state=state)
            self._is_init = True  # mmengine's init_weights must not overwrite them

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(SPG_A_1 map (pooled), SPG_A_2 map, SPG_A_2 map)``."""
        b1 = self.SPG_A_1(self.features(x))
        if not self.large_feature_map:
            b1 = F.max_pool2d(b1, kernel_size=3, stride=2, padding=1)
        b2 = self.SPG_A_2(b1)
        return b1, b2, b2
