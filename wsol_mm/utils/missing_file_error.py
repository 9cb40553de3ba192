"""A file the user pointed at (directly or through metadata) that does not exist."""
from .user_error import UserError


class MissingFileError(UserError, FileNotFoundError):
    """A missing input file; the message names it and the config key or list that names it."""
