"""Keep the console short: long start-up blocks go to the log file only."""
import logging
from typing import Sequence

#: message starts that only the log file gets: mmengine's environment block, the full
#: config, the hook table, and one line per parameter from the optimizer constructor
FILE_ONLY_PREFIXES = (
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Hooks will be executed in the following order',
    'paramwise_options -- ',
)


class ConsoleLogFilter(logging.Filter):
    """Drop records whose message starts with one of ``prefixes`` (console handlers only).

    Args:
        prefixes (Sequence[str]): message starts to drop. Defaults to
            :data:`FILE_ONLY_PREFIXES`.

    Examples:
        >>> record = logging.makeLogRecord(dict(msg='Config:\\nmodel = ...'))
        >>> ConsoleLogFilter().filter(record)
        False
    """

    def __init__(self, prefixes: Sequence[str] = FILE_ONLY_PREFIXES) -> None:
        super().__init__()
        self.prefixes = tuple(prefixes)
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(self.prefixes):
            self.dropped += 1
            return False
        return True


def attach_console_filter(logger: logging.Logger, log_filter: logging.Filter) -> None:
    """Add ``log_filter`` to the logger's console handlers (file handlers keep everything)."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) \
                and not isinstance(handler, logging.FileHandler):
            handler.addFilter(log_filter)
