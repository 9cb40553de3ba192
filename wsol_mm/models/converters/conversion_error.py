"""The error of a checkpoint that a converter cannot map (a user's file, not a bug)."""
from wsol_mm.utils.user_error import UserError


class ConversionError(UserError, KeyError):
    """A released checkpoint has keys no conversion rule consumes, or an unknown layout.

    A :class:`~wsol_mm.utils.UserError` (the tools print its message as one line) and a
    ``KeyError`` (what callers of the converters caught before).
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ''
