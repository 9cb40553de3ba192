"""Switches the crop-consistency loss on at a given epoch."""
from wsol_mm.registry import HOOKS

from .epoch_switch_hook import EpochSwitchHook


@HOOKS.register_module()
class CropConsistencyHook(EpochSwitchHook):
    """Crop consistency's training loss from ``start_epoch`` (0-based) on.

    The released CUB scripts train 25 CE-only epochs before the two-pass loss
    (``crop_start_epoch``); ImageNet/OpenImages start at 0. Only the training loss is
    scheduled: inference always uses the wrapper's ``test_zoom`` setting, as released.

    Args:
        start_epoch (int): first (0-based) epoch with the consistency loss. Defaults to 0.
    """

    def __init__(self, start_epoch: int = 0) -> None:
        super().__init__('crop_consistency', start_epoch)
