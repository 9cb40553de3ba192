"""Registries of wsol_mm: one child of every mmengine root registry, scope ``wsol_mm``.

Every root registry gets a child (even those we register nothing in) so that
lookups under ``default_scope='wsol_mm'`` never fall back to mmengine's root
with a warning. ``locations`` lets a registry import the subpackage that
defines its classes on first use (the modules that register them: the package
``__init__`` of ``datasets`` and ``evaluation`` load their classes lazily). Importing
this module runs ``wsol_mm.compat`` first.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

from . import compat  # noqa: F401  (shims before any registered module loads)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS',
    'INFERENCERS'
]


def _child(name: str, parent: Registry, *locations: str) -> Registry:
    return Registry(name, parent=parent, scope='wsol_mm', locations=list(locations))


RUNNERS = _child('runner', MMENGINE_RUNNERS, 'wsol_mm.engine')
RUNNER_CONSTRUCTORS = _child('runner constructor', MMENGINE_RUNNER_CONSTRUCTORS, 'wsol_mm.engine')
LOOPS = _child('loop', MMENGINE_LOOPS, 'wsol_mm.engine')
HOOKS = _child('hook', MMENGINE_HOOKS, 'wsol_mm.engine.hooks')
LOG_PROCESSORS = _child('log processor', MMENGINE_LOG_PROCESSORS, 'wsol_mm.engine')
OPTIMIZERS = _child('optimizer', MMENGINE_OPTIMIZERS, 'wsol_mm.engine')
OPTIM_WRAPPERS = _child('optim wrapper', MMENGINE_OPTIM_WRAPPERS, 'wsol_mm.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, 'wsol_mm.engine')
PARAM_SCHEDULERS = _child('parameter scheduler', MMENGINE_PARAM_SCHEDULERS, 'wsol_mm.engine')
DATASETS = _child('dataset', MMENGINE_DATASETS, 'wsol_mm.datasets.registration')
DATA_SAMPLERS = _child('data sampler', MMENGINE_DATA_SAMPLERS, 'wsol_mm.datasets.registration')
TRANSFORMS = _child('transform', MMENGINE_TRANSFORMS, 'wsol_mm.datasets.transforms')
MODELS = _child('model', MMENGINE_MODELS, 'wsol_mm.models')
MODEL_WRAPPERS = _child('model_wrapper', MMENGINE_MODEL_WRAPPERS, 'wsol_mm.models')
WEIGHT_INITIALIZERS = _child('weight initializer', MMENGINE_WEIGHT_INITIALIZERS, 'wsol_mm.models')
TASK_UTILS = _child('task util', MMENGINE_TASK_UTILS, 'wsol_mm.models')
METRICS = _child('metric', MMENGINE_METRICS, 'wsol_mm.evaluation.metrics')
EVALUATOR = _child('evaluator', MMENGINE_EVALUATOR, 'wsol_mm.evaluation.metrics')
VISUALIZERS = _child('visualizer', MMENGINE_VISUALIZERS, 'wsol_mm.visualization')
VISBACKENDS = _child('vis_backend', MMENGINE_VISBACKENDS, 'wsol_mm.visualization')
FUNCTIONS = _child('function', MMENGINE_FUNCTIONS, 'wsol_mm.datasets.registration')
INFERENCERS = _child('inferencer', MMENGINE_INFERENCERS, 'wsol_mm.apis')
