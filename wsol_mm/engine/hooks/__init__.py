from .crop_consistency_hook import CropConsistencyHook

__all__ = ['CropConsistencyHook']
