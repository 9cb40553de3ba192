from .cam_utils import (
                        largest_box_from_cam,
                        normalize_cams,
                        pack_cam_predictions,
                        resize_cams,
                        select_cam_classes,
)
from .cls_attention import block_with_cls_attention
from .weight_init import init_wsol_weights

__all__ = [
    'largest_box_from_cam', 'normalize_cams', 'resize_cams', 'select_cam_classes',
    'pack_cam_predictions', 'init_wsol_weights', 'block_with_cls_attention'
]
