"""What is learned: links (names, expressions, callables) and targets.

Names are loaded on first use (PEP 562 ``__getattr__``), so importing one submodule does not
import the others (``mimflow hermite`` stays under its start-up budget, tests/test_startup.py).
"""

_LAZY = {
    # links and their expressions
    "BUILTIN_LINKS": "._links",
    "Link": "._links",
    "make_link": "._links",
    "FUNCTIONS": "._expression",
    "parse_expression": "._expression",
    "compile_expression": "._expression",
    "canonical_text": "._expression",
    "BinOp": "._expression",
    "Call": "._expression",
    "Neg": "._expression",
    "denominators": "._expression_tree",
    "kink_arguments": "._expression_tree",
    # Hermite spectra of links
    "multivariate_spectrum": "._multivariate_spectrum",
    "separable_terms": "._separable",
    "MAX_DEGREE_BY_R": "._truncation",
    "TAIL_RTOL": "._truncation",
    "spectrum_up_to": "._truncation",
    "truncated_spectrum": "._truncation",
    # target objects and data
    "AbstractTarget": "._target_base",
    "SingleIndex": "._index_targets",
    "MultiIndex": "._index_targets",
    "single_index": "._index_targets",
    "multi_index": "._index_targets",
    "SumOfNeurons": "._neurons",
    "sum_of_neurons": "._neurons",
    "haar_stiefel": "._stiefel",
    "sample": "._sampling",
    "sample_batches": "._sampling",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
