"""Switches Bridging-the-gap's alignment losses on after the warm-up epochs."""
from wsol_mm.registry import HOOKS

from .epoch_switch_hook import EpochSwitchHook


@HOOKS.register_module()
class BridgingGapWarmupHook(EpochSwitchHook):
    """``BridgingGap`` alignment losses from epoch ``warmup_epochs`` (0-based) on.

    The released recipe trains CE + drop loss for the first 20 (0-based 0..19)
    epochs and adds the similarity / norm alignment from epoch 20 on.

    Args:
        warmup_epochs (int): epochs without the alignment losses. Defaults to 20.
    """

    def __init__(self, warmup_epochs: int = 20) -> None:
        super().__init__('bridging_gap_alignment', warmup_epochs)
