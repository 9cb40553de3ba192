from .acol_localizer import ACoLLocalizer
from .base_localizer import BaseLocalizer
from .cam_localizer import CAMLocalizer
from .tscam_localizer import TSCAMLocalizer

__all__ = ['BaseLocalizer', 'CAMLocalizer', 'TSCAMLocalizer', 'ACoLLocalizer']
