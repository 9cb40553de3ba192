"""wsol_mm: weakly supervised object localization on mmengine.

``import wsol_mm`` is light (no torch), so torch-free tools such as offline
evaluation start fast. The compatibility shims (``wsol_mm.compat``) run first
whenever a subpackage that needs them is imported: the registries,
``models``, ``datasets.transforms``, ``engine``, ``apis``, ``utils``,
``visualization``. A script that imports torchvision or timm before any of
them imports ``wsol_mm.compat`` first.
"""
from .version import __version__

__all__ = ['__version__']
