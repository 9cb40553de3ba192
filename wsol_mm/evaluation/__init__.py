"""Evaluation: pure maths (``functional``), torch-free metric bodies (``scorers``) and the
registered mmengine metrics (``metrics``)."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
from .scorers import *  # noqa: F401,F403
