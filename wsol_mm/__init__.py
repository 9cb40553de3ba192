"""wsol_mm: weakly supervised object localization on mmengine."""
from . import compat  # noqa: F401  (must run before torchvision / timm / Runner)
from .version import __version__

__all__ = ['__version__']
