"""The base class of errors caused by the user's input (config, data, files)."""


class UserError(Exception):
    """A mistake in what the user gave (a config key, a data file, a checkpoint).

    Its message alone tells what is wrong, where (file, line or key) and what to change, so
    ``tools/*.py`` print it as one line instead of a traceback (see
    :func:`wsol_mm.apis.runner_utils.report_user_errors`). Unexpected internal errors are
    other exception types and keep their traceback.

    Examples:
        >>> try:
        ...     raise UserError('config key `model.head.num_classes` must be > 0, got 0')
        ... except UserError as err:
        ...     print(err)
        config key `model.head.num_classes` must be > 0, got 0
    """
