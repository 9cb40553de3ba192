from .backbone_lr_mixin import BackboneLRMixin
from .conformer import Conformer
from .inception_v3_cam import InceptionV3CAM
from .resnet_brid_cam import ResNetBridCAM
from .resnet_cam import ResNetCAM
from .vgg16_brid_cam import VGG16BridCAM
from .vgg16_cam import VGG16CAM
from .vision_transformer import VisionTransformer

__all__ = [
    'BackboneLRMixin', 'ResNetCAM', 'VGG16CAM', 'InceptionV3CAM', 'VisionTransformer', 'Conformer',
    'ResNetBridCAM', 'VGG16BridCAM'
]
