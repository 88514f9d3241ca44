"""Hermite expansions: the reports behind ``mimflow hermite`` / ``mimflow exponents``, ``mimflow hermite-mc``
and the reproductions ``hermite-spectra``, ``quadrature-accuracy`` (docs/math/hermite.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "CHUNK": "._run",
    "HermiteMCConfig": "._command",
    "hermite_mc": "._run",
    "HERMITE_MC": "._command",
    "DEFAULT_DEGREE": "._reports",
    "link_spectrum": "._reports",
    "hermite_report": "._reports",
    "AUTO_DEGREE_CAP": "._reports",
    "exponents_report": "._reports",
    "spectrum_arrays": "._reports",
    "ONE_D_LINKS": "._reproductions",
    "MULTI_INDEX_LINKS": "._reproductions",
    "hermite_headline": "._reproductions",
    "KNOWN_INFORMATION_EXPONENTS": "._reproductions",
    "TAIL_SLOPES": "._reproductions",
    "reproduce_hermite_spectra": "._reproductions",
    "reproduce_quadrature_accuracy": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
