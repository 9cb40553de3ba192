from .cam_post_processor import CAMPostProcessor

__all__ = ['CAMPostProcessor']
