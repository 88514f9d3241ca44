"""Closed-form and quadrature-only predictions. Never imports dynamics, training or any solver.

Names are loaded on first use (PEP 562 ``__getattr__``), so importing one submodule does not
import the others (``mimflow hermite`` stays under its start-up budget, tests/test_startup.py).
One concept per private module:

* exponents: ``_hermite_support`` (information exponent, leap), ``_saddle_sequence``,
  ``_generative`` (generative exponent), ``_exponents`` (all at once);
* escape times: ``_single_index_escape`` (exact, by quadrature), ``_leading_order`` (the table of
  docs/math/saddles.md §1.6 and slopes), ``_saddle_strengths`` and ``_multi_index_escape`` (every saddle
  of a multi-index link), ``_escape_distribution`` (the law over seeds);
* ``_statistics``: censored medians and the one log-log slope fit;
* neurons: ``_neuron_correlation`` (``g(m)``, the hypothesis), ``_neuron_search``,
  ``_neuron_fixed_points``, ``_beta_critical``;
* spectral estimators: ``_label_quadrature``, ``_spectral_moments``, ``_lu_li``, ``_mondelli_montanari``.
"""

_LAZY = {
    # exponents (docs/math/hermite.md §5.2, docs/math/saddles.md §1.6)
    "DEFAULT_RTOL": "._hermite_support",
    "TAIL_FLOOR": "._hermite_support",
    "exponent_status": "._hermite_support",
    "hermite_support": "._hermite_support",
    "information_exponent": "._hermite_support",
    "leap_exponent": "._hermite_support",
    "Saddle": "._saddle_sequence",
    "rotate_spectrum": "._saddle_sequence",
    "rotation_invariant_leap": "._saddle_sequence",
    "saddle_sequence": "._saddle_sequence",
    "GENERATIVE_RTOL": "._generative",
    "conditional_hermite_energies": "._generative",
    "generative_exponent": "._generative",
    "DEFAULT_DEGREE": "._exponents",
    "Exponents": "._exponents",
    "exponents": "._exponents",
    # escape times (docs/math/saddles.md §1.6, docs/math/planted.md §1.7)
    "pure_link_escape_time": "._single_index_escape",
    "single_index_escape_time": "._single_index_escape",
    "single_index_velocity": "._single_index_escape",
    "escape_time_slope": "._leading_order",
    "leading_order_escape_time": "._leading_order",
    "saddle_strengths": "._saddle_strengths",
    "initial_saddle_overlaps": "._multi_index_escape",
    "predicted_escape_times": "._multi_index_escape",
    "EscapeTimeDistribution": "._escape_distribution",
    "escape_time_distribution": "._escape_distribution",
    "per_seed_escape_times": "._escape_distribution",
    "sample_initial_overlaps": "._escape_distribution",
    # censored statistics and the one log-log slope fit (docs/math/statistics.md §8.2-8.4)
    "fit_loglog_slope": "._statistics",
    "CensoredMedian": "._statistics",
    "SlopeEstimate": "._statistics",
    "censored_median": "._statistics",
    "loglog_slope": "._statistics",
    "loglog_slope_with_error": "._statistics",
    "type1_median": "._statistics",
    "MAX_CENSORED_FRACTION": "._statistics",
    "MIN_RUNS": "._statistics",
    "BOOTSTRAP_RESAMPLES": "._statistics",
    # correlation-loss neurons (docs/math/neurons.md §2)
    "correlation_coefficients": "._neuron_correlation",
    "ADMISSIBLE_RELU": "._neuron_correlation",
    "check_hypothesis": "._neuron_correlation",
    "hypothesis_violations": "._neuron_correlation",
    "information_exponent_of_g": "._neuron_correlation",
    "parity_of_g": "._neuron_correlation",
    "neuron_search_time": "._neuron_search",
    "search_time_prediction": "._neuron_search",
    "is_quadratic": "._neuron_search",
    "quadratic_search_times": "._neuron_search",
    "search_time_quantiles": "._neuron_search",
    "search_time_survival": "._neuron_search",
    "search_time_exponent": "._neuron_search",
    "FixedPoint": "._neuron_fixed_points",
    "coverage_probability": "._neuron_fixed_points",
    "expected_neurons_needed": "._neuron_fixed_points",
    "nearest_index_vector": "._neuron_fixed_points",
    "orthogonal_fixed_points": "._neuron_fixed_points",
    "riemannian_hessian": "._neuron_fixed_points",
    "success_probability": "._neuron_fixed_points",
    "BetaCritical": "._beta_critical",
    "average_point_curvatures": "._beta_critical",
    "beta_critical": "._beta_critical",
    "beta_critical_pure_hermite": "._beta_critical",
    # spectral estimators (docs/math/spectral.md §4.1-4.2)
    "SpectralPrediction": "._lu_li",
    "spectral_prediction": "._lu_li",
    "weak_recovery_threshold": "._lu_li",
    "mondelli_montanari_threshold": "._mondelli_montanari",
}

__all__ = list(_LAZY)


from mimflow._lazy_exports import lazy_exports as _lazy_exports

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, globals())
