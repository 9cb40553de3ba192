from .arrays_only_unpickler import ArraysOnlyUnpickler
from .console_log_filter import ConsoleLogFilter
from .setup_env import register_all_modules
from .typing_utils import (
                           ConfigType,
                           MultiConfig,
                           OptConfigType,
                           OptMultiConfig,
                           OptSampleList,
                           SampleList,
)

__all__ = [
    'register_all_modules', 'ConfigType', 'OptConfigType', 'MultiConfig', 'OptMultiConfig',
    'SampleList', 'OptSampleList', 'ArraysOnlyUnpickler', 'ConsoleLogFilter'
]
