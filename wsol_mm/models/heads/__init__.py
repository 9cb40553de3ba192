from .cam_head import CAMHead
from .conv_cam_head import ConvCAMHead
from .conformer_cam_head import ConformerCAMHead

__all__ = ['CAMHead', 'ConvCAMHead', 'ConformerCAMHead']
