from .class_names import get_class_names, resolve_class
from .inference import inference_localizer, init_localizer

__all__ = ['init_localizer', 'inference_localizer', 'get_class_names', 'resolve_class']
