"""Host synchronisations of a CUDA training step (`train_step.py --device cuda`)."""
import os.path as osp
import warnings
from collections import Counter
from typing import Callable

import torch

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..')


def host_sync_sites(step: Callable[[], object]) -> Counter:
    """Synchronising CUDA calls (``.item()``, host/device copies, ...) in one step by the
    Python line that made them, as reported by torch's sync debug mode: each one stalls
    the CPU until the GPU has caught up."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        torch.cuda.set_sync_debug_mode('warn')
        try:
            step()
        finally:
            torch.cuda.set_sync_debug_mode('default')
    return Counter(f'{osp.relpath(w.filename, ROOT)}:{w.lineno}' for w in caught
                   if 'synchroniz' in str(w.message))
