"""Evaluation: pure functions (``functional``) and mmengine metrics (``metrics``)."""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
