from .metadata import MetadataError, read_wsol_metadata
from .synthetic_wsol_dataset import SyntheticWSOLDataset
from .transforms import *  # noqa: F401,F403
from .wsol_dataset import WSOLDataset

__all__ = ['WSOLDataset', 'SyntheticWSOLDataset', 'MetadataError', 'read_wsol_metadata']
