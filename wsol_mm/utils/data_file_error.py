"""A data file (image, mask, score map) that exists but cannot be used."""
from .user_error import UserError


class DataFileError(UserError, ValueError):
    """A data file that is empty, corrupt or of the wrong kind; the message names it."""
