"""Seed every random stream of training from (seed, epoch / iteration, sample)."""
import logging

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop

from wsol_mm.registry import HOOKS
from wsol_mm.utils import derive_seed, seed_all
from wsol_mm.utils.layer_choices import restore_tuned_choices, tuned_choices

# Separates the model's streams from the per-sample data streams of the same seed.
_MODEL_STREAM = 1


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make a resumed run replay an uninterrupted one exactly (same seed, same machine).

    mmengine seeds the random generators once per run, so after ``--resume`` the data
    augmentation and the model's random ops (dropout, drop-path ...) continue from a fresh
    seed rather than from where the killed run was. This hook derives every stream from a
    key instead of from history:

    - data: each sample's random transforms use ``(seed, epoch, sample index)``
      (``WSOLDataset.set_epoch_seed``), in whichever worker process loads it, so
      augmentation is also independent of the number of dataloader workers;
    - model: Python's ``random``, numpy and torch (CPU and CUDA) are reseeded from
      ``(seed, iteration)`` before every training iteration;
    - sampler: its shuffling seed is the run's (resumed) seed;
    - timed paths: the choices layers timed on their first step (``WinogradConv2d``:
      Winograd or direct, per input shape) are stored in each checkpoint's ``meta`` and
      restored on loading one written on the same CPU model, so the resumed process does
      not time them again and pick the other path (other rounding) for a borderline shape.

    Resuming from an epoch checkpoint (the default ``CheckpointHook``) then gives bitwise
    the same weights and metrics as a run that was never interrupted, on the same hardware
    and thread count. The data part needs the train dataset to be a ``WSOLDataset`` itself:
    inside mmengine's dataset wrappers (Repeat, Concat ...) one index would stand for
    several samples, so those keep mmengine's seeding (a warning says so); so does an
    iteration-based loop, which has no epochs.

    Args:
        enable (bool): apply the seeding. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, enable: bool = True) -> None:
        self.enable = enable
        self._per_sample = True
        self._warned = False

    def before_train(self, runner) -> None:
        """Shuffle with the run's seed (after ``--resume`` it is the checkpoint's seed)."""
        if not self.enable:
            return
        sampler = getattr(runner.train_loop.dataloader, 'sampler', None)
        if hasattr(sampler, 'seed'):
            sampler.seed = runner.seed
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            # Revisits of a sample have no epoch to tell them apart: keep mmengine's seeding.
            self._per_sample = False
            print_log('ExactResumeHook: not an epoch-based loop; augmentation keeps '
                      "mmengine's seeding, so a resumed run can differ",
                      logger='current', level=logging.WARNING)

    def before_train_epoch(self, runner) -> None:
        """Key each sample's augmentation by ``(seed, epoch, index)``."""
        if not (self.enable and self._per_sample):
            return
        dataset = runner.train_loop.dataloader.dataset
        if hasattr(dataset, 'set_epoch_seed'):
            dataset.set_epoch_seed(runner.seed, runner.epoch)
        elif not self._warned:
            self._warned = True
            print_log(f'ExactResumeHook: {type(dataset).__name__} has no set_epoch_seed; its '
                      'augmentation is not seeded per sample, so a resumed run can differ',
                      logger='current', level=logging.WARNING)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the layers' timed choices (see :mod:`wsol_mm.utils.layer_choices`)."""
        if self.enable:
            checkpoint.setdefault('meta', {})['tuned_choices'] = tuned_choices()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore them, if the checkpoint was written on this CPU model."""
        if self.enable:
            restore_tuned_choices((checkpoint.get('meta') or {}).get('tuned_choices'))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """Reseed the model's random streams by ``(seed, iteration)``."""
        if self.enable:
            seed_all(derive_seed(runner.seed, runner.iter, _MODEL_STREAM))
