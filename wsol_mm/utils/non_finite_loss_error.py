"""Training stopped because a loss term became NaN or infinite."""
from .user_error import UserError


class NonFiniteLossError(UserError, RuntimeError):
    """A loss term is not finite (diverged run); raised by ``NonFiniteLossHook``.

    The message names the epoch, the iteration and every non-finite term.
    """
