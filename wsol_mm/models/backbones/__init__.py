from .resnet_cam import ResNetCAM

__all__ = ['ResNetCAM']
