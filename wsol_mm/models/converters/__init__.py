from .bridging_gap import convert_bridging_gap, detect_layout
from .conversion_error import ConversionError
from .lca_md import convert_lca_md, convert_scm
from .tscam import convert_tscam, load_released, released_state_dict
from .wsolevaluation import (
    KEY_MAPS,
    METHOD_KEY_MAPS,
    convert_wsolevaluation,
    detect_architecture,
    detect_method,
)

__all__ = [
    'ConversionError', 'KEY_MAPS', 'METHOD_KEY_MAPS', 'convert_wsolevaluation',
    'detect_architecture', 'detect_method', 'convert_tscam', 'load_released',
    'released_state_dict', 'convert_lca_md', 'convert_scm', 'convert_bridging_gap', 'detect_layout'
]
