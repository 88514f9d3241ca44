"""PEP 562 lazy public names, one implementation for every package that needs them.

A package lists ``{public name: relative module}`` and calls::

    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

so ``import mimflow`` (and ``mimflow --help``) does not import JAX, xarray or SciPy's statistics
until a name that needs them is used (tests/test_startup.py).

A module that needs a heavy module (xarray, JAX, a study package) binds it at its top with
:func:`lazy_module`, so the binding is at top level and the import happens on first use.
"""

from __future__ import annotations

import importlib
import sys
import types


def lazy_exports(package: str, table: dict[str, str], namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``: each name is imported from its module on first access
    and cached in ``namespace`` (the package's ``globals()``)."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__


class _LazyModule(types.ModuleType):
    """Stands for module ``__name__`` until an attribute is read; then imports it and reads from it."""

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self.__name__), attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self.__name__!r}>"


def lazy_module(name: str) -> types.ModuleType:
    """Module ``name``, imported on first attribute use: ``xr = lazy_module("xarray")`` at the top of a
    module keeps the binding at top level while ``import`` of that module stays cheap.

    Unlike :class:`importlib.util.LazyLoader`, nothing is put in ``sys.modules`` until the module is
    really imported, so ``"xarray" in sys.modules`` keeps meaning "xarray was imported" (the start-up
    tests and ``mimflow/__init__``'s x64 switch read it). An already imported module is returned as is.
    """
    module = sys.modules.get(name)
    return module if module is not None else _LazyModule(name)
