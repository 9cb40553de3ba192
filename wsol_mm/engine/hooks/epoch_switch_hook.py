"""One mechanism for the per-epoch on/off switches of model components."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class EpochSwitchHook(Hook):
    """Turn a named switch of the model on from ``start_epoch`` (0-based) on.

    Components declare their switches as ``epoch_switches = {name: attribute}``
    (``CropConsistency``: ``crop_consistency -> enabled``; ``BridgingGap``:
    ``bridging_gap_alignment -> align_enabled``); before each training epoch the hook
    sets every declared attribute of that name to ``epoch >= start_epoch``. It only
    schedules: the components decide what the flag means.

    Args:
        switch (str): the switch name.
        start_epoch (int): first epoch with the switch on. Defaults to 0.
    """

    priority = 'NORMAL'

    def __init__(self, switch: str, start_epoch: int = 0) -> None:
        if start_epoch < 0:
            raise ValueError(f'{type(self).__name__}: the start epoch must be >= 0, '
                             f'got {start_epoch}')
        self.switch, self.start_epoch = switch, start_epoch

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        targets = [(m, m.epoch_switches[self.switch]) for m in model.modules()
                   if self.switch in getattr(m, 'epoch_switches', {})]
        if not targets:
            raise RuntimeError(f'{type(self).__name__} switches "{self.switch}", but no '
                               f'component of {type(model).__name__} offers it; remove the '
                               'hook from `custom_hooks` or add the component to the model.')
        enabled = runner.epoch >= self.start_epoch
        changed = any(getattr(m, attr) != enabled for m, attr in targets)
        if changed or runner.epoch == 0:
            runner.logger.info(f'{self.switch} {"on" if enabled else "off"} '
                               f'from epoch {runner.epoch}')
        for module, attr in targets:
            setattr(module, attr, enabled)
