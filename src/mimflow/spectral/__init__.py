"""Spectral estimators: the top eigenvector of (1/n) sum_i T(y_i) a_i a_i^T (docs/math/spectral.md §4).

Names are loaded on first use (PEP 562), so the preprocessings that :mod:`mimflow.theory` needs for
its Lu-Li predictions do not import the estimator (Lanczos, JAX sampling).
"""

_LAZY = {
    "KNOWN_PREPROCESSINGS": "._preprocessing",
    "Preprocessing": "._preprocessing",
    "make_preprocessing": "._preprocessing",
    "SpectralData": "._estimator",
    "SpectralEstimate": "._estimator",
    "SpectralRun": "._estimator",
    "measure_spectral_overlaps": "._estimator",
    "sample_spectral_data": "._estimator",
    "spectral_estimate": "._estimator",
    "top_eigenpair": "._estimator",
    "top_eigenpairs_batched": "._estimator",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
