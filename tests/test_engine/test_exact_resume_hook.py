"""ExactResumeHook: random streams keyed by (seed, iteration) and (seed, epoch, sample)."""
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from wsol_mm.engine.hooks import ExactResumeHook
from wsol_mm.utils import layer_choices as choices_module


class _Dataset:
    def __init__(self):
        self.keys = []

    def set_epoch_seed(self, seed, epoch):
        self.keys.append((seed, epoch))


def _runner(seed=7, epoch=0, iteration=0, loop=EpochBasedTrainLoop):
    train_loop = loop.__new__(loop)  # only its type and dataloader matter here
    train_loop.dataloader = SimpleNamespace(dataset=_Dataset(),
                                            sampler=SimpleNamespace(seed=123))
    return SimpleNamespace(seed=seed, epoch=epoch, iter=iteration, train_loop=train_loop)


def _draws():
    return torch.rand(3), np.random.rand(3)


def test_model_streams_depend_only_on_seed_and_iteration():
    hook = ExactResumeHook()
    hook.before_train_iter(_runner(iteration=5), batch_idx=1)
    first = _draws()
    _draws()  # history (e.g. a killed run's extra draws) does not matter
    hook.before_train_iter(_runner(iteration=5), batch_idx=1)
    again = _draws()
    hook.before_train_iter(_runner(iteration=6), batch_idx=2)
    other = _draws()
    assert torch.equal(first[0], again[0]) and np.array_equal(first[1], again[1])
    assert not torch.equal(first[0], other[0])


def test_dataset_and_sampler_follow_the_run_seed():
    hook, runner = ExactResumeHook(), _runner(seed=9, epoch=4)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert runner.train_loop.dataloader.sampler.seed == 9  # the (resumed) run's seed
    assert runner.train_loop.dataloader.dataset.keys == [(9, 4)]
    off, runner = ExactResumeHook(enable=False), _runner()
    off.before_train(runner)
    off.before_train_epoch(runner)
    assert runner.train_loop.dataloader.sampler.seed == 123
    assert runner.train_loop.dataloader.dataset.keys == []


def test_iteration_based_loops_keep_mmengine_data_seeding():
    """Without epochs every revisit of a sample would get the same augmentation."""
    hook, runner = ExactResumeHook(), _runner(loop=IterBasedTrainLoop)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    assert runner.train_loop.dataloader.dataset.keys == []


def test_checkpoints_carry_the_timed_choices_of_this_cpu_model(monkeypatch):
    restored = []
    monkeypatch.setattr(choices_module, '_SOURCES',
                        {'kind': (lambda: [((8, 3), True)], restored.extend)})
    checkpoint = dict(meta=dict(seed=7))
    ExactResumeHook(enable=False).before_save_checkpoint(_runner(), checkpoint)
    assert 'tuned_choices' not in checkpoint['meta']
    ExactResumeHook().before_save_checkpoint(_runner(), checkpoint)
    stored = checkpoint['meta']['tuned_choices']
    assert stored == dict(cpu=choices_module.cpu_model(), choices={'kind': [((8, 3), True)]})
    ExactResumeHook().after_load_checkpoint(_runner(), checkpoint)
    assert restored == [((8, 3), True)]
    # another CPU model (other timings), an older checkpoint, a disabled hook: nothing
    other = dict(meta=dict(tuned_choices=dict(stored, cpu='another CPU')))
    for hook, ckpt in ((ExactResumeHook(), other), (ExactResumeHook(), dict(meta=dict())),
                       (ExactResumeHook(), dict()), (ExactResumeHook(enable=False), checkpoint)):
        hook.after_load_checkpoint(_runner(), ckpt)
    assert restored == [((8, 3), True)]
