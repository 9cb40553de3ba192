from .resnet_cam import ResNetCAM
from .vision_transformer import VisionTransformer
from .conformer import Conformer

__all__ = ['ResNetCAM', 'VisionTransformer', 'Conformer']
