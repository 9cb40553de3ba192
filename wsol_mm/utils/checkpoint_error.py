"""A checkpoint file that cannot (or may not) be loaded."""
from .user_error import UserError


class CheckpointError(UserError, ValueError):
    """A checkpoint that is corrupt, truncated, not a checkpoint, or not trusted to unpickle.

    The message names the file and what to do (e.g. the opt-in for a trusted file that
    needs full unpickling, see ``docs/reliability.md``).
    """
