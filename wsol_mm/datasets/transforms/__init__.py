from ... import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .base_crop import BaseCrop
from .center_crop import CenterCrop
from .load_image_from_file import LoadImageFromFile
from .load_wsol_annotations import LoadWSOLAnnotations
from .pack_wsol_inputs import PackWSOLInputs
from .rand_augment import RandAugment
from .random_crop import RandomCrop
from .random_erasing import RandomErasing
from .random_flip import RandomFlip
from .random_resized_crop import RandomResizedCrop
from .resize import Resize

__all__ = [
    'LoadImageFromFile', 'LoadWSOLAnnotations', 'Resize', 'RandomResizedCrop', 'RandomCrop',
    'CenterCrop', 'RandomFlip', 'PackWSOLInputs', 'RandAugment', 'RandomErasing', 'BaseCrop'
]
