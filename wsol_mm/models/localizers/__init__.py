from .base_localizer import BaseLocalizer
from .cam_localizer import CAMLocalizer
from .lcamd import LCAMD
from .scm_localizer import SCMLocalizer
from .tscam_localizer import TSCAMLocalizer

__all__ = ['BaseLocalizer', 'CAMLocalizer', 'TSCAMLocalizer', 'SCMLocalizer', 'LCAMD']
