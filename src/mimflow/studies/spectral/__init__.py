"""Spectral estimators: ``mimflow spectral`` and the reproduction ``spectral-overlap`` (docs/math/spectral.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "CURVE_POINTS": "._run",
    "SpectralConfig": "._command",
    "run_spectral": "._run",
    "plot_spectral": "._command",
    "SPECTRAL": "._command",
    "PREPROCESSINGS": "._reproductions",
    "reproduce_spectral_overlap": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
