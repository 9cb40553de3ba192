"""Epoch switches: CropConsistencyHook / BridgingGapWarmupHook on one mechanism, through DDP-style
wrappers too."""
import logging
from types import SimpleNamespace

import pytest
import torch.nn as nn

from wsol_mm.engine.hooks import BridgingGapWarmupHook, CropConsistencyHook, EpochSwitchHook
from wsol_mm.models import CAMLocalizer, CropConsistency
from wsol_mm.utils import register_all_modules

register_all_modules()
_CAM = dict(backbone=dict(type='ResNetCAM', depth=18),
            head=dict(type='CAMHead', num_classes=2, in_channels=512))


def _model(crop: bool = True, methods=None):
    if crop:
        return CropConsistency(localizer='CAMLocalizer', methods=methods, **_CAM)
    return CAMLocalizer(methods=methods, **_CAM)


def _runner(model, epoch=0):
    return SimpleNamespace(model=model, logger=logging.getLogger('test'), epoch=epoch)


@pytest.mark.parametrize('wrap', [False, True])
def test_flag_per_epoch(wrap):
    model = _model()
    runner = _runner(nn.DataParallel(model) if wrap else model)
    hook = CropConsistencyHook(start_epoch=3)
    flags = []
    for epoch in range(6):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        flags.append(model.enabled)
    assert flags == [False, False, False, True, True, True]
    # resuming at a later epoch sets the flag from that epoch alone
    model.enabled = False
    runner.epoch = 4
    hook.before_train_epoch(runner)
    assert model.enabled


def test_start_epoch_zero_and_errors():
    model = _model()
    model.enabled = False
    CropConsistencyHook().before_train_epoch(_runner(model))
    assert model.enabled
    with pytest.raises(RuntimeError, match='"crop_consistency"'):
        CropConsistencyHook().before_train_epoch(_runner(_model(crop=False)))
    with pytest.raises(ValueError, match='start epoch'):
        CropConsistencyHook(start_epoch=-1)


def test_one_mechanism_for_both_switches():
    # Bridging the gap inside crop consistency: each hook turns only its own switch.
    model = _model(methods=[dict(type='BridgingGap')])
    brid = model.methods[0]
    crop_hook, warmup = CropConsistencyHook(start_epoch=2), BridgingGapWarmupHook(1)
    assert isinstance(crop_hook, EpochSwitchHook) and isinstance(warmup, EpochSwitchHook)
    seen = []
    for epoch in range(3):
        for hook in (crop_hook, warmup):
            hook.before_train_epoch(_runner(model, epoch))
        seen.append((model.enabled, brid.align_enabled))
    assert seen == [(False, False), (False, True), (True, True)]
    generic = EpochSwitchHook('bridging_gap_alignment', start_epoch=5)
    generic.before_train_epoch(_runner(model, 4))
    assert brid.align_enabled is False
