"""Closed-form and quadrature-only predictions. Never imports dynamics or training.

Names are loaded on first use (PEP 562 ``__getattr__``), so importing one submodule does not
import the others (``mimflow hermite`` stays under its start-up budget, tests/test_startup.py).
"""

_LAZY = {
    "DEFAULT_DEGREE": "._exponents",
    "DEFAULT_RTOL": "._exponents",
    "GENERATIVE_RTOL": "._exponents",
    "TAIL_FLOOR": "._exponents",
    "Exponents": "._exponents",
    "Saddle": "._exponents",
    "conditional_hermite_energies": "._exponents",
    "exponent_status": "._exponents",
    "exponents": "._exponents",
    "generative_exponent": "._exponents",
    "hermite_support": "._exponents",
    "information_exponent": "._exponents",
    "leap_exponent": "._exponents",
    "rotate_spectrum": "._exponents",
    "rotation_invariant_leap": "._exponents",
    "saddle_sequence": "._exponents",
    "escape_time_slope": "._escape_times",
    "fit_loglog_slope": "._escape_times",
    "initial_saddle_overlaps": "._escape_times",
    "leading_order_escape_time": "._escape_times",
    "predicted_escape_times": "._escape_times",
    "pure_link_escape_time": "._escape_times",
    "saddle_strengths": "._escape_times",
    "single_index_escape_time": "._escape_times",
    "single_index_velocity": "._escape_times",
    "BetaCritical": "._neurons",
    "FixedPoint": "._neurons",
    "average_point_curvatures": "._neurons",
    "beta_critical": "._neurons",
    "beta_critical_pure_hermite": "._neurons",
    "correlation_coefficients": "._neurons",
    "coverage_probability": "._neurons",
    "expected_neurons_needed": "._neurons",
    "nearest_index_vector": "._neurons",
    "neuron_search_time": "._neurons",
    "orthogonal_fixed_points": "._neurons",
    "riemannian_hessian": "._neurons",
    "search_time_prediction": "._neurons",
    "success_probability": "._neurons",
    "SpectralPrediction": "._spectral",
    "mondelli_montanari_threshold": "._spectral",
    "spectral_prediction": "._spectral",
    "weak_recovery_threshold": "._spectral",
    "EscapeTimeDistribution": "._escape_distribution",
    "escape_time_distribution": "._escape_distribution",
    "per_seed_escape_times": "._escape_distribution",
    "sample_initial_overlaps": "._escape_distribution",
    "CensoredMedian": "._statistics",
    "SlopeEstimate": "._statistics",
    "censored_median": "._statistics",
    "loglog_slope": "._statistics",
    "loglog_slope_with_error": "._statistics",
    "type1_median": "._statistics",
    "MAX_CENSORED_FRACTION": "._statistics",
    "MIN_RUNS": "._statistics",
    "is_quadratic": "._neuron_search",
    "quadratic_search_times": "._neuron_search",
    "search_time_quantiles": "._neuron_search",
    "search_time_survival": "._neuron_search",
    "ADMISSIBLE_RELU": "._neurons",
    "check_hypothesis": "._neurons",
    "hypothesis_violations": "._neurons",
}

__all__ = list(_LAZY)


from .._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
