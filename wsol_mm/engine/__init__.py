from .. import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .atomic_local_backend import AtomicLocalBackend
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403

__all__ = ['AtomicLocalBackend']
