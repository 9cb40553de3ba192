from .inference import inference_localizer, init_localizer

__all__ = ['init_localizer', 'inference_localizer']
