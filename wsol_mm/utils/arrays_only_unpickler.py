"""An unpickler for files that may only hold builtins and numpy arrays."""
import pickle
from typing import Any

#: the globals a pickle of numpy arrays and scalars needs (numpy 1.x and 2.x names)
SAFE_GLOBALS = frozenset({
    ('numpy._core.multiarray', '_reconstruct'), ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'), ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.numeric', '_frombuffer'), ('numpy.core.numeric', '_frombuffer'),
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
})


class ArraysOnlyUnpickler(pickle.Unpickler):
    """Refuse every global outside :data:`SAFE_GLOBALS`: no pickled code ever runs.

    Examples:
        >>> import io, numpy as np
        >>> data = pickle.dumps([dict(a=np.zeros(2, np.uint8))])
        >>> ArraysOnlyUnpickler(io.BytesIO(data)).load()[0]['a'].dtype
        dtype('uint8')
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'{module}.{name} is not allowed in a results file')
