"""Correlation-loss neurons (Simsek, Bendjeddou, Hsu): ``mimflow neurons`` (and ``beta-c``,
``phase-diagram``) and the reproductions ``search-phase``, ``coverage``, ``beta-c`` (docs/math/neurons.md).

Names are loaded on first use (PEP 562), so ``mimflow hermite`` and ``mimflow --help`` import no
simulation code (tests/test_startup.py).
"""

_LAZY = {
    "FD_STEP": "._checks",
    "QUADRATURE_NODES": "._checks",
    "ROOT_XTOL": "._checks",
    "beta_c_finite_difference": "._checks",
    "MAX_SAVED_VALUES": "._run",
    "NeuronsConfig": "._command",
    "gram_of": "._run",
    "run_neurons": "._run",
    "plot_neurons": "._command",
    "NEURONS": "._command",
    "load_gram": "._config",
    "check_link_text": "._config",
    "HORIZON_FACTOR": "._escapes",
    "QUANTILE_LEVELS": "._escapes",
    "default_horizon": "._escapes",
    "escape_selection_applies": "._escapes",
    "never_escaping": "._escapes",
    "network_times": "._escapes",
    "neuron_escape_fields": "._escapes",
    "semilog_slope_with_error": "._escapes",
    "NeuronsPhaseConfig": "._phase",
    "PHASE_LABELS": "._run",
    "run_phase_diagram": "._run",
    "plot_phase": "._phase",
    "PHASE": "._phase",
    "NeuronsBetaCConfig": "._phase",
    "beta_c_report": "._run",
    "run_beta_c": "._run",
    "BETA_C": "._phase",
    "SBH": "._reproductions",
    "SEARCH_LINKS": "._reproductions",
    "search_phase_study": "._reproductions",
    "search_phase_claims": "._reproductions",
    "reproduce_search_phase": "._reproductions",
    "ENDPOINT_HORIZON": "._reproductions",
    "coverage_study": "._reproductions",
    "coverage_claims": "._reproductions",
    "reproduce_coverage": "._reproductions",
    "ADMISSIBLE_TANH": "._reproductions",
    "BETA_C_LINKS": "._reproductions",
    "FD_CHECKS": "._reproductions",
    "threshold_dynamics": "._reproductions",
    "beta_c_claims": "._reproductions",
    "reproduce_beta_c": "._reproductions",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
