from .cam_utils import normalize_cams, pack_cam_predictions, resize_cams, select_cam_classes
from .weight_init import init_wsol_weights

__all__ = ['normalize_cams', 'resize_cams', 'select_cam_classes', 'pack_cam_predictions',
           'init_wsol_weights']
