"""What is learned: links (names, expressions, callables) and targets.

Names are loaded on first use (PEP 562 ``__getattr__``), so importing one submodule does not
import the others (``mimflow hermite`` stays under its start-up budget, tests/test_startup.py).
"""

_LAZY = {
    "FUNCTIONS": "._expression",
    "parse_expression": "._expression",
    "BUILTIN_LINKS": "._links",
    "Link": "._links",
    "make_link": "._links",
    "SingleIndex": "._targets",
    "MultiIndex": "._targets",
    "SumOfNeurons": "._targets",
    "single_index": "._targets",
    "multi_index": "._targets",
    "sum_of_neurons": "._targets",
    "haar_stiefel": "._targets",
    "sample": "._sampling",
    "sample_batches": "._sampling",
    "multivariate_spectrum": "._multivariate_spectrum",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    """Load the public name ``name`` (and its module) on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mimflow.targets' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
