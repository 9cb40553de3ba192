"""wsolevaluation's two learning-rate groups (feature layers / classifier) for any localizer."""
import copy
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper

from wsol_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from .optimizer_impl import prefer_fused


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class WSOLOptimWrapperConstructor:
    """Build an optimizer with two groups: ``lr`` and ``lr * classifier_lr_mult``.

    ``rule='wsolevaluation'`` (default) reproduces wsolevaluation's grouping:
    backbone parameters at ``lr`` except ResNet ``layer4`` and VGG ``conv6``;
    head/neck and those layers at ``lr * classifier_lr_mult``. Inception's
    trunk (``Conv2d_*``, ``Mixed_*``) is at ``lr``, its head at 10x.

    ``rule='small_object_matters'`` reproduces the official CropCAM repo's
    quirk (spec crop_consistency section 4.2): everything at 10x except the ResNet
    stem BatchNorm. Use it only to match that repo's effective learning rates.

    Weight decay and momentum are the optimizer's, for both groups (as in both
    repositories). Parameters with ``requires_grad=False`` are left out. torch's fused
    implementation is selected where available (see :func:`prefer_fused`; for SGD the
    update is bitwise that of the default loop).

    Args:
        optim_wrapper_cfg (dict): ``optimizer=dict(type='SGD', lr=...)`` and
            optionally ``type`` (default ``OptimWrapper``) and wrapper options.
        paramwise_cfg (dict, optional): ``classifier_lr_mult`` (default 10),
            ``rule`` (``'wsolevaluation'`` | ``'small_object_matters'``) and
            ``classifier_keys`` (tuple of full parameter-name prefixes that go to
            the high lr, replacing the rule; e.g. ``('backbone.layer4.', 'head.')``).

    Examples:
        >>> optim_wrapper = dict(
        ...     constructor='WSOLOptimWrapperConstructor',
        ...     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True),
        ...     paramwise_cfg=dict(classifier_lr_mult=10))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        if 'optimizer' not in optim_wrapper_cfg:
            raise KeyError('optim_wrapper needs an `optimizer` dict (e.g. type=SGD, lr=0.01)')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.optimizer_cfg = self.optim_wrapper_cfg.pop('optimizer')
        cfg = dict(paramwise_cfg or {})
        unknown = set(cfg) - {'classifier_lr_mult', 'rule', 'classifier_keys'}
        if unknown:
            raise KeyError(f'optim_wrapper.paramwise_cfg: unknown keys {sorted(unknown)}; '
                           'WSOLOptimWrapperConstructor takes classifier_lr_mult, rule, '
                           'classifier_keys')
        self.lr_mult = float(cfg.get('classifier_lr_mult', 10))
        self.rule = cfg.get('rule', 'wsolevaluation')
        keys = cfg.get('classifier_keys')
        self.classifier_keys = tuple(keys) if keys is not None else None

    def is_classifier_param(self, name: str, model: nn.Module) -> bool:
        """Whether parameter ``name`` (as in ``model.named_parameters()``) gets the high lr.

        The model decides (``BaseLocalizer.is_classifier_param``: outside the backbone
        everything is new; inside, the backbone's ``lr_groups``), unless
        ``classifier_keys`` lists the prefixes explicitly.
        """
        if self.classifier_keys is not None:
            return name.startswith(self.classifier_keys)
        matcher = getattr(model, 'is_classifier_param', None)
        if matcher is None:
            raise TypeError(f'{type(model).__name__} does not define lr groups '
                            '(`is_classifier_param`); set optim_wrapper.paramwise_cfg.'
                            'classifier_keys')
        return matcher(name, self.rule)

    def param_groups(self, model: nn.Module) -> Tuple[List[nn.Parameter], List[nn.Parameter]]:
        """Split trainable parameters into (features, classifier)."""
        features, classifier = [], []
        for name, param in model.named_parameters():
            if param.requires_grad:
                (classifier if self.is_classifier_param(name, model) else features).append(param)
        return features, classifier

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        features, classifier = self.param_groups(model)
        optimizer_cfg = prefer_fused(copy.deepcopy(self.optimizer_cfg), features + classifier)
        lr = optimizer_cfg['lr']
        # Both groups always exist (group 0 = features), as in wsolevaluation,
        # so logs and schedulers see a stable layout.
        optimizer_cfg['params'] = [dict(params=features, lr=lr),
                                   dict(params=classifier, lr=lr * self.lr_mult)]
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = copy.deepcopy(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
