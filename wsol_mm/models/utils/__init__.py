from .cam_utils import (largest_box_from_cam, normalize_cams, pack_cam_predictions, resize_cams,
                        select_cam_classes)

__all__ = ['largest_box_from_cam', 'normalize_cams', 'resize_cams', 'select_cam_classes', 'pack_cam_predictions']
