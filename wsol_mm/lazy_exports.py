"""Names of a package imported from their submodules on first use (PEP 562).

A package ``__init__`` that imported every submodule would pull torch and
mmengine into torch-free tools (``tools/analysis_tools/eval_cams.py`` reads
``wsol_mm.datasets.metadata`` and the ``wsol_mm.evaluation`` scorers). With
:func:`lazy_exports` the package keeps its public names
(``from wsol_mm.datasets import CUBDataset`` works as before) and loads each
submodule only when one of its names is used. Registration does not depend on
it: the registries import the modules that register classes directly.
"""
import importlib
import importlib.util
import sys
from typing import Callable, Dict, List, Optional, Tuple


def lazy_exports(package: str, names: Dict[str, str], fallback: Optional[str] = None
                 ) -> Tuple[Callable[[str], object], Callable[[], List[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for ``package``.

    Args:
        package (str): the package's ``__name__``.
        names (dict): public name -> submodule (relative, e.g. ``'.cub_dataset'``).
        fallback (str, optional): submodule asked for any other public name
            (e.g. ``'.transforms'``, re-exported with ``*``); its ``__all__``
            joins the package's. Defaults to None.

    Returns:
        tuple: ``(__getattr__, __dir__)`` to assign in the package.
    """

    def _all() -> List[str]:
        extra = importlib.import_module(fallback, package).__all__ if fallback else []
        return list(names) + list(extra)

    def __getattr__(name: str) -> object:
        if name == '__all__':  # ``from package import *``
            return _all()
        module = names.get(name)
        if module is None and not name.startswith('__'):
            if importlib.util.find_spec(f'{package}.{name}') is not None:
                return importlib.import_module(f'{package}.{name}')  # a submodule
            module = fallback
        try:
            value = getattr(importlib.import_module(module, package), name)
        except (TypeError, AttributeError):  # no such submodule / name
            raise AttributeError(f'module {package!r} has no attribute {name!r}') from None
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> List[str]:
        return sorted(set(_all()) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
