from .wsol_runner import WSOLRunner

__all__ = ['WSOLRunner']
