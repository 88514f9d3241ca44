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
    "BinOp": "._expression",
    "Call": "._expression",
    "Neg": "._expression",
    "canonical_text": "._expression",
    "compile_expression": "._expression",
    "denominators": "._expression",
    "kink_arguments": "._expression",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
