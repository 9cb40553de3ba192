"""Memory measurements shared by the benchmark scripts."""
from typing import Callable

import torch


def saved_bytes(step: Callable[[], object]) -> int:
    """Bytes of the distinct storages autograd saves for backward during ``step``
    (exact and device independent, unlike peak-RSS readings on a shared CPU)."""
    storages = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        s = t.untyped_storage()
        storages[(s.device, s.data_ptr())] = s.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(storages.values())
