"""Stop training at the first NaN/Inf loss term, before a checkpoint can store it."""
import math
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook

from wsol_mm.registry import HOOKS
from wsol_mm.utils import NonFiniteLossError


def _non_finite_terms(outputs: Optional[dict]) -> List[str]:
    """``name=value`` of every loss term (keys containing ``loss``) that is NaN or Inf."""
    bad = []
    for name, value in (outputs or {}).items():
        if 'loss' not in name:
            continue
        if isinstance(value, torch.Tensor):
            finite = bool(torch.isfinite(value.detach()).all())
            shown = value.detach().float().mean().item() if value.numel() else value
        else:
            finite, shown = math.isfinite(float(value)), value
        if not finite:
            bad.append(f'{name}={shown}')
    return bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Stop a diverged run: raise on the first iteration with a non-finite loss term.

    Every logged loss term (the total ``loss`` and each ``loss_*``) is checked after each
    training iteration, before any checkpoint hook runs, so ``last_checkpoint`` keeps
    naming the last finite state. Under DDP the ranks agree (one small all-reduce per
    iteration) and all stop together. Works with ``AmpOptimWrapper`` too: a gradient
    overflow that the loss scaler skips is not a non-finite loss.

    Args:
        enable (bool): turn the guard off (``False``) for runs that skip non-finite
            batches on purpose. Defaults to True.

    Examples:
        >>> hook = NonFiniteLossHook()
        >>> _non_finite_terms({'loss': torch.tensor(float('nan')), 'acc': torch.tensor(1.)})
        ['loss=nan']
    """

    # Before CheckpointHook / EMA / logging: a non-finite state is never saved.
    priority = 'VERY_HIGH'

    def __init__(self, enable: bool = True) -> None:
        self.enable = enable

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict[str, torch.Tensor]] = None) -> None:
        """Raise :class:`NonFiniteLossError` if any loss term of this iteration is not finite."""
        if not self.enable:
            return
        bad = _non_finite_terms(outputs)
        if get_world_size() > 1:
            flag = torch.tensor([float(bool(bad))])
            all_reduce(flag)
            if flag.item() == 0:
                return
            gathered = all_gather_object(bad)
            bad = [f'{term} (rank {rank})' for rank, terms in enumerate(gathered)
                   for term in terms]
        if not bad:
            return
        last = runner.message_hub.get_info('last_ckpt')
        kept = f'the last checkpoint is still {last}' if last else 'no checkpoint was written'
        raise NonFiniteLossError(
            f'non-finite loss in epoch {runner.epoch + 1}, iteration {batch_idx + 1} of the '
            f'epoch (iteration {runner.iter + 1} overall): {", ".join(bad)}. Training stopped '
            f'before saving this state ({kept}). Lower the learning rate '
            '(optim_wrapper.optimizer.lr) or clip gradients (optim_wrapper.clip_grad); to '
            'train on regardless, set default_hooks.non_finite_loss.enable=False')
