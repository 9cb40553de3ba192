"""CropConsistencyHook: the component's flag per epoch, through a model wrapper too."""
import logging
from types import SimpleNamespace

import pytest
import torch.nn as nn

from wsol_mm.engine.hooks import CropConsistencyHook
from wsol_mm.models import CAMLocalizer
from wsol_mm.utils import register_all_modules

register_all_modules()


def _model(consistency=dict(type='CropConsistency')):
    return CAMLocalizer(backbone=dict(type='ResNetCAM', depth=18),
                        head=dict(type='CAMHead', num_classes=2, in_channels=512),
                        consistency=consistency)


@pytest.mark.parametrize('wrap', [False, True])
def test_flag_per_epoch(wrap):
    model = _model()
    runner = SimpleNamespace(model=nn.DataParallel(model) if wrap else model,
                             logger=logging.getLogger('test'), epoch=0)
    hook = CropConsistencyHook(start_epoch=3)
    flags = []
    for epoch in range(6):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        flags.append(model.consistency.enabled)
    assert flags == [False, False, False, True, True, True]
    # resuming at a later epoch sets the flag from that epoch alone
    model.consistency.enabled = False
    runner.epoch = 4
    hook.before_train_epoch(runner)
    assert model.consistency.enabled


def test_start_epoch_zero_and_errors():
    model = _model()
    model.consistency.enabled = False
    CropConsistencyHook().before_train_epoch(
        SimpleNamespace(model=model, logger=logging.getLogger('test'), epoch=0))
    assert model.consistency.enabled
    with pytest.raises(RuntimeError, match='model.consistency'):
        CropConsistencyHook().before_train_epoch(
            SimpleNamespace(model=_model(None), logger=logging.getLogger('test'), epoch=0))
    with pytest.raises(ValueError, match='start_epoch'):
        CropConsistencyHook(start_epoch=-1)
