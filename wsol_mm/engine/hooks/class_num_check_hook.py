"""Check that the model's class count matches the dataset's before running."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from wsol_mm.registry import HOOKS


@HOOKS.register_module()
class ClassNumCheckHook(Hook):
    """Fail early when ``num_classes`` of the model and the dataset differ."""

    priority = 'VERY_HIGH'

    def _check(self, runner, dataloader, split: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model_classes = getattr(model, 'num_classes', None)
        dataset = getattr(dataloader, 'dataset', None)
        classes = getattr(dataset, 'metainfo', {}).get('classes') if dataset else None
        if model_classes is None or not classes:
            return
        if len(classes) != model_classes:
            raise ValueError(
                f'The model has num_classes={model_classes} but the {split} dataset '
                f'({type(dataset).__name__}) has {len(classes)} classes; set '
                f'`model.head.num_classes={len(classes)}` (or fix the dataset `classes`)')

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader, 'test')
