"""mmengine's ``paramwise_cfg`` rules with one parameter group per distinct setting."""
import inspect
from typing import Any, Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper

from wsol_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

from .optimizer_impl import optimizer_class, prefer_fused


def _option_key(value: Any) -> Any:
    """A hashable stand-in for a group option value (lists/tuples of numbers, numbers)."""
    if isinstance(value, (list, tuple)):
        return tuple(_option_key(v) for v in value)
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


#: Group keys mmengine's constructor stores for information only (their effect is
#: already in ``lr`` / ``weight_decay``); no optimizer or scheduler reads them.
ANNOTATION_KEYS = ('lr_mult', 'decay_mult')


def merge_param_groups(groups: List[Dict[str, Any]],
                       defaults: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    """Merge groups whose effective options are equal.

    The effective options of a group are ``defaults`` (the optimizer config) updated
    with the group's own keys, without ``params`` and :data:`ANNOTATION_KEYS`; so a
    group that sets ``lr`` to the default lr joins one that leaves it out. Merged groups
    keep the order of their first member and parameters keep model order; groups
    without parameters are dropped.

    Args:
        groups (list[dict]): ``dict(params=[...], lr=..., weight_decay=..., ...)``.
        defaults (dict, optional): the optimizer's options (``lr``, ``weight_decay``, ...).
    """
    merged: Dict[Tuple, Dict[str, Any]] = {}
    for group in groups:
        own = {k: v for k, v in group.items() if k != 'params' and k not in ANNOTATION_KEYS}
        effective = dict(defaults or {}, **own)
        key = tuple(sorted((k, _option_key(v)) for k, v in effective.items()))
        if key not in merged:
            merged[key] = dict(own, params=[])
        merged[key]['params'].extend(group['params'])
    return [g for g in merged.values() if g['params']]


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MergedGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` whose per-parameter groups are merged.

    mmengine's ``paramwise_cfg`` (``norm_decay_mult``, ``bias_decay_mult``,
    ``custom_keys``, ...) gives every parameter its own group: 152-160 groups for
    DeiT-S, where timm's ``param_groups_weight_decay`` (the released TS-CAM / SCM /
    LCA-MD recipe) has 2 (decay / no decay). Each optimizer step then runs its
    per-group bookkeeping (and, on GPU, its multi-tensor kernels) once per parameter.
    This constructor applies the same rules and merges groups with equal options, so
    every parameter keeps exactly its hyper-parameters (the update is the same; only
    the grouping differs) and learning-rate schedulers, which scale every group, act
    as before. It also selects torch's fused implementation (see :func:`prefer_fused`).

    A checkpoint saved with the one-group-per-parameter layout resumes only with that
    layout: ``--cfg-options optim_wrapper.constructor=DefaultOptimWrapperConstructor``.

    Args:
        optim_wrapper_cfg (dict): as ``DefaultOptimWrapperConstructor``.
        paramwise_cfg (dict, optional): as ``DefaultOptimWrapperConstructor``.

    Examples:
        >>> optim_wrapper = dict(
        ...     constructor='MergedGroupsOptimWrapperConstructor',
        ...     optimizer=dict(type='AdamW', lr=5e-5, weight_decay=0.05),
        ...     paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
    """

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if is_model_wrapper(model):
            model = model.module
        optimizer_cfg = self.optimizer_cfg.copy()
        if self.paramwise_cfg:
            params: List[Dict[str, Any]] = []
            self.add_params(params, model)
            defaults = {k: v for k, v in optimizer_cfg.items() if k != 'type'}
            params = merge_param_groups(params, defaults)
            tensors = [p for g in params for p in g['params']]
        else:
            params = tensors = list(model.parameters())
        optimizer_cfg = prefer_fused(optimizer_cfg, tensors)
        # The first argument's name varies (e.g. `model_params`), as mmengine handles.
        first_arg = next(iter(inspect.signature(optimizer_class(optimizer_cfg['type']))
                              .parameters))
        optimizer_cfg[first_arg] = params
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
