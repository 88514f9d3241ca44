"""GD in the proportional regime and its DMFT: ``mimflow dmft`` and the reproduction ``dmft-wirtinger``
(docs/math/dmft.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "OBSERVABLES": "._run",
    "DMFTConfig": "._command",
    "run_dmft": "._run",
    "plot_dmft": "._command",
    "DMFT": "._command",
    "PAPER": "._reproductions",
    "PAPER_LONG": "._reproductions",
    "reproduce_dmft_wirtinger": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
