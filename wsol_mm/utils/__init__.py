from .. import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .arrays_only_unpickler import ArraysOnlyUnpickler
from .checkpoint_error import CheckpointError
from .console_log_filter import ConsoleLogFilter
from .cpu_info import cpu_info_field, cpu_model, cpu_vendor
from .data_file_error import DataFileError
from .layer_choices import register_tuned_choices, restore_tuned_choices, tuned_choices
from .missing_file_error import MissingFileError
from .non_finite_loss_error import NonFiniteLossError
from .pretrained_weights_error import PretrainedWeightsError
from .seeding import derive_seed, seed_all, seeded_rng
from .setup_env import register_all_modules
from .typing_utils import (
                           ConfigType,
                           MultiConfig,
                           OptConfigType,
                           OptMultiConfig,
                           OptSampleList,
                           SampleList,
)
from .user_error import UserError

__all__ = [
    'register_all_modules', 'ConfigType', 'OptConfigType', 'MultiConfig', 'OptMultiConfig',
    'SampleList', 'OptSampleList', 'ArraysOnlyUnpickler', 'ConsoleLogFilter', 'UserError',
    'CheckpointError', 'DataFileError', 'MissingFileError', 'NonFiniteLossError',
    'PretrainedWeightsError', 'derive_seed',
    'seed_all', 'seeded_rng', 'cpu_info_field', 'cpu_model', 'cpu_vendor',
    'register_tuned_choices', 'restore_tuned_choices', 'tuned_choices'
]
