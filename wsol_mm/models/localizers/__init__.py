from .base_localizer import BaseLocalizer
from .cam_localizer import CAMLocalizer

__all__ = ['BaseLocalizer', 'CAMLocalizer']
