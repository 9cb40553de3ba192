"""File input/output shared by the whole package: safe checkpoint loading, atomic writes,
images that fail with their path."""
from .. import compat  # noqa: F401  (mmengine's checkpoint loaders routed here first)
from .atomic_write import (
                           atomic_open,
                           atomic_write_bytes,
                           atomic_write_json,
                           atomic_write_text,
                           clean_stale_temps,
                           temp_sibling,
)
from .checkpoint_io import (
                           TRUST_ENV,
                           checkpoint_safe_globals,
                           is_trusted_checkpoint,
                           load_checkpoint_file,
)
from .image_io import decode_image, read_image

__all__ = [
    'atomic_open', 'atomic_write_bytes', 'atomic_write_json', 'atomic_write_text',
    'clean_stale_temps', 'temp_sibling', 'TRUST_ENV', 'checkpoint_safe_globals',
    'is_trusted_checkpoint', 'load_checkpoint_file', 'decode_image', 'read_image'
]
