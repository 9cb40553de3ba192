from .. import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .assigners import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .batch_augments import *  # noqa: F401,F403
from .data_preprocessor import WSOLDataPreprocessor
from .heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .localizers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .methods import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .normalizers import *  # noqa: F401,F403
from .postprocessors import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403

__all__ = ['WSOLDataPreprocessor']
