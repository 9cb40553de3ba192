from .cut_mix import CutMix
from .hide_and_seek import HideAndSeek

__all__ = ['CutMix', 'HideAndSeek']
