"""NonFiniteLossHook: one error naming epoch, iteration and every non-finite loss term."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from wsol_mm.engine.hooks import NonFiniteLossHook
from wsol_mm.utils import NonFiniteLossError, UserError


def _runner(last_ckpt=None):
    hub = MessageHub.get_instance('test_non_finite_loss_hook')
    hub.update_info('last_ckpt', last_ckpt)
    return SimpleNamespace(epoch=2, iter=17, message_hub=hub)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float16, torch.bfloat16])
def test_names_every_non_finite_term(dtype):
    """The terms of an AMP (half precision) step are checked like float32 ones."""
    outputs = dict(loss=torch.tensor(float('inf'), dtype=dtype),
                   loss_cls=torch.tensor(1.25, dtype=dtype),
                   loss_cons=torch.tensor(float('nan'), dtype=dtype),
                   acc_top1=torch.tensor(float('nan')))  # not a loss term: logged only
    with pytest.raises(NonFiniteLossError) as err:
        NonFiniteLossHook().after_train_iter(_runner('work/epoch_2.pth'), batch_idx=4,
                                             outputs=outputs)
    msg = str(err.value)
    assert isinstance(err.value, UserError)
    assert 'epoch 3, iteration 5 of the epoch (iteration 18 overall)' in msg
    assert 'loss=inf' in msg and 'loss_cons=nan' in msg
    assert 'loss_cls' not in msg and 'acc_top1' not in msg
    assert 'the last checkpoint is still work/epoch_2.pth' in msg
    assert 'default_hooks.non_finite_loss.enable=False' in msg


def test_finite_losses_pass_and_the_guard_can_be_turned_off():
    finite = dict(loss=torch.tensor(0.5), loss_cls=torch.tensor(0.5))
    NonFiniteLossHook().after_train_iter(_runner(), batch_idx=0, outputs=finite)
    bad = dict(loss=torch.tensor(float('nan')))
    NonFiniteLossHook(enable=False).after_train_iter(_runner(), batch_idx=0, outputs=bad)
