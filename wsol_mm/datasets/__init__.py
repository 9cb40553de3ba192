"""Datasets, split readers and transforms of wsol_mm.

The public names load on first use (:mod:`wsol_mm.lazy_exports`), so
``wsol_mm.datasets.metadata`` (the split reader offline evaluation uses)
imports without torch. The registries import
:mod:`wsol_mm.datasets.registration`, which loads every dataset and transform.
"""
from ..lazy_exports import lazy_exports

_NAMES = {
    'WSOLDataset': '.wsol_dataset',
    'CUBDataset': '.cub_dataset',
    'ImageNetDataset': '.imagenet_dataset',
    'OpenImagesDataset': '.openimages_dataset',
    'SyntheticWSOLDataset': '.synthetic_wsol_dataset',
    'MetadataError': '.metadata',
    'read_wsol_metadata': '.metadata',
    'COCOWSOLDataset': '.coco_wsol_dataset',
    'ClassFolderDataset': '.class_folder_dataset',
}
# the transforms (``from wsol_mm.datasets import RandomFlip``) come from .transforms
__getattr__, __dir__ = lazy_exports(__name__, _NAMES, fallback='.transforms')
