from .autocast_optim_wrapper import AutocastOptimWrapper
from .merged_groups_optim_wrapper_constructor import MergedGroupsOptimWrapperConstructor
from .mixed_precision import amp_optim_wrapper, bf16_note, cpu_bf16_units, cpu_has_bf16
from .optimizer_impl import prefer_fused
from .wsol_optim_wrapper_constructor import WSOLOptimWrapperConstructor

__all__ = [
    'WSOLOptimWrapperConstructor', 'MergedGroupsOptimWrapperConstructor',
    'AutocastOptimWrapper', 'amp_optim_wrapper', 'bf16_note', 'cpu_bf16_units', 'cpu_has_bf16',
    'prefer_fused'
]
