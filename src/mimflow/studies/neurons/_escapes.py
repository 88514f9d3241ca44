r"""Search times of correlation-loss neurons as censored data (docs/math/neurons.md §2.2, docs/math/statistics.md).

Used by ``mimflow neurons`` and the ``search-phase`` reproduction:

* **Horizon** (:func:`default_horizon`): ``HORIZON_FACTOR`` x the predicted (leading-order) median
  search time *at this d*. For :math:`p^* \ge 3` every quantile of the search time scales like
  :math:`d^{p^*/2-1}`, so the predicted censored fraction at this horizon
  (:func:`~mimflow.theory._neuron_search.search_time_survival`) does not depend on ``d``: about
  :math:`2\cdot10^{-4}` for ``h3`` and :math:`2\cdot10^{-6}` for ``h4`` (``k = 4``).
* **Never escaping** (:func:`never_escaping`), selected on the initial condition only: for orthogonal
  index vectors and an odd ``g`` with non-negative coefficients, :math:`m_j = 0` is invariant and a neuron
  whose overlaps all start :math:`\le 0` never reaches 1/2 (docs/math/neurons.md §2.3). Those neurons are
  reported (``never_escaping``) and not counted; every other neuron that has not escaped by the horizon
  (including one that settled at a fixed point with :math:`\max_j|m_j| < 1/2`) is right-censored there.
* **Medians** are Kaplan-Meier medians with 95 % CIs (:func:`~mimflow.studies._escape_stats.escape_time_summary`):
  one neuron, and the network's first and last escape (per seed: the first / last counted neuron; the
  last is censored when a counted neuron has not escaped).
* **Slopes**: log-log (:func:`~mimflow.theory.loglog_slope_with_error`) and, for :math:`p^* = 2`, the
  slope of the median against :math:`\ln d` (:func:`semilog_slope_with_error`), both with a
  bootstrap-over-neurons standard error.
"""

from __future__ import annotations

import math
import warnings as _warnings

import numpy as np

from mimflow._errors import MimflowError
from mimflow.studies._escape_stats import escape_time_summary
from mimflow.theory import (BOOTSTRAP_RESAMPLES, MIN_RUNS, censored_median, information_exponent_of_g,
                            loglog_slope_with_error, parity_of_g, search_time_prediction, search_time_quantiles,
                            search_time_survival)

HORIZON_FACTOR = 1e3
"""Default horizon: this times the predicted (leading-order) median search time at the run's ``d``."""

QUANTILE_LEVELS = (0.1, 0.5, 0.9)


def default_horizon(a, k: int, d: int) -> float:
    """``HORIZON_FACTOR`` x the predicted median search time at ``d`` (1000 when there is no search phase)."""
    p = information_exponent_of_g(a)
    if p < 2:
        return 1e3
    try:
        pred = search_time_prediction(a, k, d, 1)["neuron_median_leading_order"]
    except MimflowError:
        pred = d ** max(p / 2 - 1, 0.0) + math.log(d)
    return float(max(1e3, HORIZON_FACTOR * pred))


def escape_selection_applies(a, Q) -> bool:
    """Whether :func:`never_escaping` can select anything: ``Q = I`` and odd ``g`` with all ``a_p >= 0``."""
    a = np.asarray(a, dtype=float)
    return bool(np.allclose(Q, np.eye(len(Q))) and parity_of_g(a) == "odd" and np.all(a[1:] >= 0))


def never_escaping(a, Q, m0) -> np.ndarray:
    """``(..., n)`` bool: neurons that can never escape from their initial overlaps ``m0 (..., n, k)`` alone."""
    m0 = np.asarray(m0, dtype=float)
    if not escape_selection_applies(a, Q):
        return np.zeros(m0.shape[:-1], dtype=bool)
    return np.all(m0 <= 0.0, axis=-1)


def network_times(esc, counted) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(first, last, has_counted)`` per seed from ``esc (S, n)`` (NaN: not escaped) and ``counted (S, n)``.

    ``first``: earliest counted escape (NaN, censored, when none escaped); ``last``: the latest, NaN
    (censored) when a counted neuron has not escaped; ``has_counted``: seeds with a counted neuron.
    """
    esc = np.where(counted, np.asarray(esc, dtype=float), np.nan)
    has = counted.any(axis=1)
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore", RuntimeWarning)
        first = np.nanmin(np.where(has[:, None], esc, np.inf), axis=1)
    first = np.where(np.isfinite(first), first, np.nan)
    done = np.all(np.isfinite(esc) | ~counted, axis=1)
    last = np.where(done & has, np.nanmax(np.where(np.isfinite(esc), esc, -np.inf), axis=1), np.nan)
    return first, last, has


def neuron_escape_fields(esc, counted, horizon: float, d: int, *, a=None, k: int | None = None,
                         identity: bool = False, network: bool = True) -> tuple[dict, list[str]]:
    """The censoring-aware JSON fields of ``mimflow neurons`` for one ``d`` (module docstring).

    Args:
        esc: ``(S, n)`` escape times, NaN where not escaped by ``horizon``.
        counted: ``(S, n)`` neurons that can escape (:func:`never_escaping` negated).
        a, k, identity: the run's ``g`` coefficients and ``k``; predictions only when ``identity`` (``Q = I``).
        network: add the network's first / last escape (per seed).
    """
    esc = np.asarray(esc, dtype=float)
    S, n = esc.shape
    fields, warnings = escape_time_summary([d], esc.reshape(1, S * n, 1), [horizon],
                                           counted=np.asarray(counted).reshape(1, S * n, 1), names=["neuron"])
    if network:
        first, last, has = network_times(esc, counted)
        fields["network_escape_times"] = {}
        for label, times in (("first", first), ("last", last)):
            m = censored_median(times[has], horizon) if has.any() else None
            fields["network_escape_times"][label] = None if m is None else m.to_json()
            if m is not None and m.n < MIN_RUNS:
                warnings.append(f"network {label} escape at {d}: the median rests on {m.n} seed(s) (< {MIN_RUNS})")
    if identity and a is not None:
        try:
            q = search_time_quantiles(a, k, d, QUANTILE_LEVELS)
            fields["predicted_escape_time_quantiles"] = {str(d): {f"{lv:g}": [float(t)] for lv, t in
                                                                  zip(QUANTILE_LEVELS, q)}}
            fields["predicted_censored_fraction"] = {str(d): [search_time_survival(a, k, d, horizon)]}
            if network:
                fields["predicted_network_escape_times"] = {
                    w: float(search_time_quantiles(a, k, d, [0.5], n=n, which=w)[0]) for w in ("first", "last")}
        except MimflowError:
            pass
    return fields, warnings


def semilog_slope_with_error(ds, samples, horizons, *, seed: int = 0,
                             n_resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float | None, float | None]:
    r"""Slope of the Kaplan-Meier median against :math:`\ln d` (for :math:`\Theta(\log d)` search times),
    with a bootstrap-over-samples SE (:func:`~mimflow.theory.loglog_slope_with_error` with
    ``log_times=False``, docs/math/statistics.md §8.4).

    ``samples``: ``D`` arrays of times (NaN: censored at that ``d``'s horizon). ``(None, None)`` when a
    median is censored; SE ``None`` when more than 2.5 % of the resamples have a censored median.
    """
    est = loglog_slope_with_error(ds, samples, horizons, seed=seed, n_resamples=n_resamples, log_times=False)
    return est.fitted, est.fitted_se
