"""Finite-sample training beside the population flow: ``mimflow train`` and the reproductions
``sgd-vs-ode``, ``sample-complexity`` (docs/math/online-sgd.md, docs/math/finite-sample.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "ESCAPE_THRESHOLD": ".._escape_stats",
    "TrainConfig": "._command",
    "plot_train": "._command",
    "TRAIN": "._command",
    "build_algorithm": "._run",
    "crossing_times": "._run",
    "escape_fields": "._run",
    "run_train": "._run",
    "DEVIATION_LINK": "._sgd_vs_ode",
    "weighted_loglog_slope": "._sgd_vs_ode",
    "sgd_vs_ode": "._sgd_vs_ode",
    "sgd_vs_ode_reproduction": "._sgd_vs_ode",
    "sgd_vs_ode_claims": "._sgd_vs_ode",
    "reproduce_sgd_vs_ode": "._sgd_vs_ode",
    "BAGJ": "._sample_complexity",
    "CASES": "._sample_complexity",
    "samples_to_escape": "._sample_complexity",
    "predicted_samples": "._sample_complexity",
    "sample_complexity": "._sample_complexity",
    "sample_complexity_claims": "._sample_complexity",
    "sample_complexity_reproduction": "._sample_complexity",
    "reproduce_sample_complexity": "._sample_complexity",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
