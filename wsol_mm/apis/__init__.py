from .. import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .class_names import get_class_names, resolve_class
from .inference import inference_localizer, init_localizer
from .results_analysis import best_cam_threshold, per_image_localization, split_by_size

__all__ = [
    'init_localizer', 'inference_localizer', 'get_class_names', 'resolve_class',
    'best_cam_threshold', 'per_image_localization', 'split_by_size'
]
