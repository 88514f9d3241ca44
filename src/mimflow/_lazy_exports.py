"""PEP 562 lazy public names, one implementation for every package that needs them.

A package lists ``{public name: relative module}`` and calls::

    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

so ``import mimflow`` (and ``mimflow --help``) does not import JAX, xarray or SciPy's statistics
until a name that needs them is used (tests/test_startup.py).
"""

from __future__ import annotations

import importlib


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
