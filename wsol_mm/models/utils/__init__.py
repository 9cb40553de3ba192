from .cam_utils import normalize_cams, pack_cam_predictions, resize_cams, select_cam_classes

__all__ = ['normalize_cams', 'resize_cams', 'select_cam_classes', 'pack_cam_predictions']
