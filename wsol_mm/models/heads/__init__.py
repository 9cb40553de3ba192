from .cam_head import CAMHead
from .conv_class_map_head import ConvClassMapHead

__all__ = ['CAMHead', 'ConvClassMapHead']
