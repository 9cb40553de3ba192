"""Key the wsolevaluation methods' random draws by (seed, iteration, rank)."""
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from wsol_mm.models.utils.method_rng import method_rng
from wsol_mm.registry import HOOKS

#: Separates this stream from other streams derived from the same (seed, iteration).
METHOD_STREAM = 2


@HOOKS.register_module()
class MethodSeedHook(Hook):
    """Seed the shared :class:`MethodRNG` before every training iteration.

    HaS' patches, CutMix's lambda / permutation / box and ADL's decisions are drawn from
    one generator (:func:`method_rng`). This hook restarts it before each iteration
    from ``(runner.seed, runner.iter, METHOD_STREAM, rank)``, so the draws of an
    iteration depend only on that key: a run resumed from a checkpoint draws exactly
    what the uninterrupted run drew (the run's seed is restored from the checkpoint),
    independently of data-loading workers or of other random streams, and DDP ranks
    draw differently (as the released single-process DataParallel code drew per
    batch, with different images on each rank). It only schedules the seed: the
    components decide what to draw.
    """

    priority = 'NORMAL'

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        method_rng().seed(runner.seed, runner.iter, METHOD_STREAM, get_rank())
