from .acol_head import ACoLHead
from .adl_conv_class_map_head import ADLConvClassMapHead
from .base_cam_head import BaseCAMHead
from .cam_head import CAMHead
from .conformer_cam_head import ConformerCAMHead
from .conv1x1_class_map_head import Conv1x1ClassMapHead
from .conv_cam_head import ConvCAMHead
from .conv_class_map_head import ConvClassMapHead

__all__ = [
    'BaseCAMHead', 'CAMHead', 'ConvClassMapHead', 'ConvCAMHead', 'ConformerCAMHead',
    'ADLConvClassMapHead', 'ACoLHead', 'Conv1x1ClassMapHead'
]
