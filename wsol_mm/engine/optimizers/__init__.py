from .wsol_optim_wrapper_constructor import WSOLOptimWrapperConstructor

__all__ = ['WSOLOptimWrapperConstructor']
