"""SyntheticWSOL benchmark generator (plain functions, no registry)."""
from .generator import (
    SIZE_BINS,
    SyntheticConfig,
    generate_synthetic,
    preset_config,
    size_histogram,
    synthetic_class_names,
)
from .integrity import FORMAT_VERSION, synthetic_is_complete

__all__ = ['SyntheticConfig', 'preset_config', 'generate_synthetic', 'synthetic_is_complete',
           'synthetic_class_names', 'size_histogram', 'SIZE_BINS', 'FORMAT_VERSION']
