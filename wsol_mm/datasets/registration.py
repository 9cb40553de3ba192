"""Loads every dataset and transform module, which registers their classes.

The location of the ``DATASETS``, ``DATA_SAMPLERS`` and ``FUNCTIONS``
registries and part of ``register_all_modules`` (``wsol_mm/datasets/__init__.py``
itself imports nothing, see there).
"""
from . import transforms  # noqa: F401
from .class_folder_dataset import ClassFolderDataset  # noqa: F401
from .coco_wsol_dataset import COCOWSOLDataset  # noqa: F401
from .cub_dataset import CUBDataset  # noqa: F401
from .imagenet_dataset import ImageNetDataset  # noqa: F401
from .openimages_dataset import OpenImagesDataset  # noqa: F401
from .synthetic_wsol_dataset import SyntheticWSOLDataset  # noqa: F401
from .wsol_dataset import WSOLDataset  # noqa: F401
