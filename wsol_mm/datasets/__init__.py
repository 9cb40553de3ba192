from .class_folder_dataset import ClassFolderDataset
from .coco_wsol_dataset import COCOWSOLDataset
from .cub_dataset import CUBDataset
from .imagenet_dataset import ImageNetDataset
from .metadata import MetadataError, read_wsol_metadata
from .openimages_dataset import OpenImagesDataset
from .synthetic_wsol_dataset import SyntheticWSOLDataset
from .transforms import *  # noqa: F401,F403
from .wsol_dataset import WSOLDataset

__all__ = [
    'WSOLDataset', 'CUBDataset', 'ImageNetDataset', 'OpenImagesDataset', 'SyntheticWSOLDataset',
    'MetadataError', 'read_wsol_metadata', 'COCOWSOLDataset', 'ClassFolderDataset'
]
