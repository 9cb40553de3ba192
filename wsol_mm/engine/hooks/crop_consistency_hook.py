"""Switches the crop-consistency loss on at a given epoch."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class CropConsistencyHook(Hook):
    """Set ``model.consistency.enabled = (epoch >= start_epoch)`` before each train epoch.

    The released CUB scripts train 25 CE-only epochs before the two-pass loss
    (``crop_start_epoch``, 0-based); ImageNet/OpenImages start at 0. Only the
    training loss is scheduled: inference always uses the component's
    ``test_zoom`` setting, as released.

    Args:
        start_epoch (int): first (0-based) epoch with the consistency loss.
            Defaults to 0.
    """

    priority = 'NORMAL'

    def __init__(self, start_epoch: int = 0) -> None:
        if start_epoch < 0:
            raise ValueError(f'CropConsistencyHook: start_epoch must be >= 0, got {start_epoch}')
        self.start_epoch = start_epoch

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        component = getattr(model, 'consistency', None)
        if component is None or not hasattr(component, 'enabled'):
            raise RuntimeError('CropConsistencyHook needs `model.consistency` with an `enabled` '
                               'flag (e.g. model.consistency=dict(type="CropConsistency", ...)); '
                               f'got {type(component).__name__}. Remove the hook from '
                               '`custom_hooks` or add the component.')
        enabled = runner.epoch >= self.start_epoch
        if enabled != component.enabled or runner.epoch == 0:
            runner.logger.info(f'crop consistency {"on" if enabled else "off"} '
                               f'from epoch {runner.epoch}')
        component.enabled = enabled
