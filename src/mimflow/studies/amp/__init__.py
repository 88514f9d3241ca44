"""Bayes-optimal and AMP limits: ``mimflow amp`` and the reproduction ``algorithms-vs-limits`` (docs/math/amp.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "CURVE_POINTS": "._run",
    "AMPConfig": "._command",
    "run_amp": "._run",
    "plot_amp": "._command",
    "AMP": "._command",
    "BARBIER": "._reproductions",
    "MONDELLI": "._reproductions",
    "reproduce_algorithms_vs_limits": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
