from .cam_utils import normalize_cams, pack_cam_predictions, resize_cams, select_cam_classes
from .cls_attention import block_with_cls_attention

__all__ = ['normalize_cams', 'resize_cams', 'select_cam_classes', 'pack_cam_predictions',
           'block_with_cls_attention']
