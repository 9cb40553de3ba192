"""Switches Bridging-the-gap's alignment losses on after the warm-up epochs."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class BridgingGapWarmupHook(Hook):
    """Set ``align_enabled = (epoch >= warmup_epochs)`` on the model's ``BridgingGap`` methods.

    The released recipe trains CE + drop loss for the first 20 (0-based 0..19)
    epochs and adds the similarity / norm alignment from epoch 20 on.

    Args:
        warmup_epochs (int): epochs without the alignment losses. Defaults to 20.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_epochs: int = 20) -> None:
        if warmup_epochs < 0:
            raise ValueError(f'BridgingGapWarmupHook: warmup_epochs must be >= 0, '
                             f'got {warmup_epochs}')
        self.warmup_epochs = warmup_epochs

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        targets = [m for m in getattr(model, 'methods', []) if hasattr(m, 'align_enabled')]
        if not targets:
            raise RuntimeError('BridgingGapWarmupHook needs a `BridgingGap` entry in '
                               '`model.methods`; remove the hook from `custom_hooks` or add '
                               'the component.')
        for method in targets:
            method.align_enabled = runner.epoch >= self.warmup_epochs
