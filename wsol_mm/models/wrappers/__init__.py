from .crop_consistency import CropConsistency

__all__ = ['CropConsistency']
