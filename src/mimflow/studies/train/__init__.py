"""Finite-sample training beside the population flow: ``mimflow train`` and the reproductions
``sgd-vs-ode``, ``sample-complexity`` (docs/math/online-sgd.md, docs/math/finite-sample.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "ESCAPE_THRESHOLD": "._command",
    "TrainConfig": "._command",
    "build_algorithm": "._command",
    "crossing_times": "._command",
    "escape_fields": "._command",
    "run_train": "._command",
    "plot_train": "._command",
    "TRAIN": "._command",
    "ESCAPE_THRESHOLD": "._reproductions",
    "DEVIATION_LINK": "._reproductions",
    "online_limit_coefficients": "._reproductions",
    "solve_single_index_ode": "._reproductions",
    "weighted_loglog_slope": "._reproductions",
    "sgd_vs_ode": "._reproductions",
    "samples_to_escape": "._reproductions",
    "CASES": "._reproductions",
    "predicted_samples": "._reproductions",
    "sample_complexity": "._reproductions",
    "sgd_vs_ode_reproduction": "._reproductions",
    "BAGJ": "._reproductions",
    "sgd_vs_ode_claims": "._reproductions",
    "sample_complexity_claims": "._reproductions",
    "sample_complexity_reproduction": "._reproductions",
    "reproduce_sgd_vs_ode": "._reproductions",
    "reproduce_sample_complexity": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
