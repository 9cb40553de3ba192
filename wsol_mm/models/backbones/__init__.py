from .resnet_cam import ResNetCAM
from .vision_transformer import VisionTransformer

__all__ = ['ResNetCAM', 'VisionTransformer']
