from .backbone_lr_mixin import BackboneLRMixin
from .conformer import Conformer
from .inception_v3_cam import InceptionV3CAM
from .inception_v3_spg_cam import InceptionV3SPGCAM
from .resnet_brid_cam import ResNetBridCAM
from .resnet_cam import ResNetCAM
from .resnet_spg_cam import ResNetSPGCAM
from .vgg16_acol_cam import VGG16ACoLCAM
from .vgg16_brid_cam import VGG16BridCAM
from .vgg16_cam import VGG16CAM
from .vgg16_spg_cam import VGG16SPGCAM
from .vision_transformer import VisionTransformer

__all__ = [
    'BackboneLRMixin', 'ResNetCAM', 'VGG16CAM', 'InceptionV3CAM', 'VisionTransformer', 'Conformer',
    'ResNetBridCAM', 'VGG16BridCAM', 'VGG16ACoLCAM', 'ResNetSPGCAM', 'VGG16SPGCAM',
    'InceptionV3SPGCAM'
]
