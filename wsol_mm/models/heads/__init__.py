from .cam_head import CAMHead
from .conv_cam_head import ConvCAMHead

__all__ = ['CAMHead', 'ConvCAMHead']
