"""Choices that layers time on their first training step, kept with a checkpoint.

A layer that picks the faster of two exact paths by timing them in the running process
(``WinogradConv2d``: Winograd or the direct convolution, per input shape) can pick the
other path for a borderline shape in another process, with other float rounding. A resumed
run would then drift from the run it continues. Such layers register their choices here;
``ExactResumeHook`` stores them in each checkpoint and restores them before the resumed
process's first step, when the checkpoint was written on a CPU of the same model.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple

from .cpu_info import cpu_model

_SOURCES: Dict[str, Tuple[Callable[[], List[Any]], Callable[[List[Any]], None]]] = {}


def register_tuned_choices(name: str, get: Callable[[], List[Any]],
                           restore: Callable[[List[Any]], None]) -> None:
    """Register a layer kind's choices: ``get()`` returns them as plain values (lists, tuples,
    numbers, booleans: what a weights-only checkpoint load accepts), ``restore(items)``
    takes them back."""
    _SOURCES[name] = (get, restore)


def tuned_choices() -> Dict[str, Any]:
    """The choices of this process, with the CPU model they were timed on."""
    return dict(cpu=cpu_model(), choices={name: get() for name, (get, _) in _SOURCES.items()})


def restore_tuned_choices(state: Optional[Dict[str, Any]]) -> bool:
    """Take back :func:`tuned_choices` from a checkpoint if it was written on this CPU model.

    Returns:
        bool: whether anything was restored (False: none stored, another CPU model).
    """
    if not state or state.get('cpu') != cpu_model():
        return False
    for name, items in state.get('choices', {}).items():
        if name in _SOURCES and items:
            _SOURCES[name][1](items)
    return True
