r"""Honest estimates from censored escape times: Kaplan-Meier medians, confidence intervals, slopes.

A run that has not escaped by its horizon :math:`t_{max}` is a *right-censored* observation
("later than :math:`t_{max}`"), never a missing value (docs/math/statistics.md). Dropping it biases
the median down, more so at large ``d`` where more runs are censored.

* **Median and 95 % CI** (:func:`censored_median`): the Kaplan-Meier estimator of the survival
  function :math:`S(t) = P(\tau > t)` from :func:`scipy.stats.ecdf` on :class:`scipy.stats.CensoredData`;
  the median is the first time with :math:`\hat S(t) \le 1/2`, and its 95 % interval inverts the
  pointwise 95 % band of :math:`\hat S` (``method="log-log"``, Kalbfleisch-Prentice): all ``t``
  with :math:`S_{lo}(t) \le 1/2 \le S_{hi}(t)`, i.e. from the first time the lower band crosses 1/2 to
  the first time the upper band does (Brookmeyer and Crowley 1982). When :math:`\hat S` never reaches
  1/2 the median itself is censored: reported as ``None`` with ``median_censored = True`` (it is only
  known to be ``> t_max``; the interval keeps the lower end of the band and is open above); when the
  upper band never reaches 1/2 the interval is open above (``hi = None``).
* **One horizon per sample** (type-I censoring, every censored run at a time :math:`\ge` every
  observed escape) is what every mimflow engine produces. Then the Kaplan-Meier curve *is* the
  empirical survival function with the censored runs placed at :math:`+\infty`, and its median is
  the ``inverted_cdf`` sample median of those values (:func:`type1_median`, vectorised; checked
  against :func:`censored_median` in the tests). The bootstrap uses it.
* **Log-log slopes** (docs/math/statistics.md §8.4): the one least-squares slope fit of the package
  is :func:`loglog_slope` (with its ordinary standard error; :func:`fit_loglog_slope` is its plain
  form for escape times against ``d``). With censored samples, :func:`loglog_slope_with_error` fits
  least squares of :math:`\log` median against :math:`\log d`; the standard error is the bootstrap
  over seeds (each ``d``'s runs resampled with replacement, :func:`scipy.stats.bootstrap`,
  ``method="percentile"``), so it carries the spread of the heavy-tailed escape times, not a
  residual variance over a handful of points.

References: E. L. Kaplan, P. Meier (1958), JASA 53:457; R. Brookmeyer, J. Crowley (1982), Biometrics
38:29; B. Efron, R. Tibshirani (1993), *An Introduction to the Bootstrap*.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from mimflow._errors import MimflowError
from mimflow._seeds import seed_generator

__all__ = [
    "CensoredMedian",
    "MIN_RUNS",
    "MAX_CENSORED_FRACTION",
    "SlopeEstimate",
    "censored_median",
    "fit_loglog_slope",
    "loglog_slope",
    "loglog_slope_with_error",
    "type1_median",
]

MIN_RUNS = 8
"""Fewer runs than this behind a median (or a slope point) triggers a warning."""

MAX_CENSORED_FRACTION = 0.10
"""A censored fraction above this triggers a warning (the horizon is too short for the tail)."""

BOOTSTRAP_RESAMPLES = 2000
"""Bootstrap resamples for slope standard errors (Monte Carlo error of the SE ~ 1/sqrt(2 * 2000) = 1.6 %)."""


MAX_UNIDENTIFIED_RESAMPLES = 0.025
"""The slope SE is reported when at most this share of bootstrap resamples has a censored median
(those resamples are left out of the SE, and the share is reported); above it the SE is ``None``."""


@dataclass(frozen=True)
class CensoredMedian:
    """Kaplan-Meier median of right-censored times.

    ``median``: the estimate (``None`` when censored); ``ci95 = (lo, hi)`` (``hi`` ``None`` when open
    above, both ``None`` when nothing escaped); ``n``: runs; ``n_censored``; ``horizon``: the largest
    censoring time (``None`` when nothing is censored); ``median_censored``: the median is only known
    to be ``> horizon``.
    """

    median: float | None
    ci95: tuple[float | None, float | None]
    n: int
    n_censored: int
    horizon: float | None
    median_censored: bool

    @property
    def censored_fraction(self) -> float:
        return self.n_censored / self.n if self.n else 0.0

    def to_json(self) -> dict:
        return {"median": self.median, "ci95": list(self.ci95), "n": self.n, "n_censored": self.n_censored,
                "censored_fraction": self.censored_fraction, "horizon": self.horizon,
                "median_censored": self.median_censored}


def _as_censored(times, horizons) -> tuple[np.ndarray, np.ndarray]:
    """``(observed, escaped)``: times with NaN/inf (not escaped) replaced by their horizon."""
    t = np.asarray(times, dtype=float).reshape(-1)
    h = np.broadcast_to(np.asarray(horizons, dtype=float), t.shape)
    escaped = np.isfinite(t)
    if np.any(escaped & ~np.isfinite(h)) or np.any(~escaped & ~(np.isfinite(h) & (h > 0))):
        raise MimflowError("every run needs a finite positive horizon (t_max) to be counted as censored")
    if np.any(t[escaped] < 0):
        raise MimflowError("escape times must be >= 0")
    return np.where(escaped, t, h), escaped


def censored_median(times, horizons) -> CensoredMedian:
    """Kaplan-Meier median of escape times with its 95 % confidence interval.

    Args:
        times: ``(S,)`` escape times, NaN (or inf) for a run that had not escaped by its horizon.
        horizons: its horizon ``t_max`` (a scalar or ``(S,)``).

    Example:
        >>> m = censored_median([1.0, 2.0, 3.0, float("nan")], 10.0)
        >>> m.median, m.n_censored
        (2.0, 1)
    """
    observed, escaped = _as_censored(times, horizons)
    n, n_cens = observed.size, int(np.sum(~escaped))
    horizon = float(observed[~escaped].max()) if n_cens else None
    if n == 0:
        return CensoredMedian(None, (None, None), 0, 0, None, False)
    if not np.any(escaped):
        return CensoredMedian(None, (horizon, None), n, n_cens, horizon, True)
    data = stats.CensoredData(uncensored=observed[escaped], right=observed[~escaped])
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():  # the log-log band is undefined where S = 0 or 1: those steps are open
        warnings.simplefilter("ignore", RuntimeWarning)
        band = sf.confidence_interval(0.95, method="log-log")
    median = _first_crossing(sf.quantiles, sf.probabilities)
    lo = _first_crossing(band.low.quantiles, band.low.probabilities)
    hi = _first_crossing(band.high.quantiles, band.high.probabilities)
    if median is None:
        return CensoredMedian(None, (horizon if lo is None else lo, None), n, n_cens, horizon, True)
    return CensoredMedian(median, (lo if lo is not None else median, hi), n, n_cens, horizon, False)


def _first_crossing(quantiles, probabilities) -> float | None:
    """First time at which a (right-continuous, non-increasing) survival step function is <= 1/2."""
    p = np.nan_to_num(np.asarray(probabilities, dtype=float), nan=1.0)
    hit = np.nonzero(p <= 0.5 + 1e-12)[0]
    return float(np.asarray(quantiles)[hit[0]]) if hit.size else None


def type1_median(values, axis: int = -1) -> np.ndarray:
    """Kaplan-Meier median under one horizon per sample: censored runs given as ``+inf``.

    The ``inverted_cdf`` sample median (the smallest value with empirical CDF >= 1/2), ``inf`` when
    the median is censored. Vectorised over the other axes (used inside the bootstrap).
    """
    return np.quantile(np.asarray(values, dtype=float), 0.5, axis=axis, method="inverted_cdf")


def loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of ``log y`` on ``log x`` and its ordinary standard error (NaN if < 3 points).

    NaN slope when fewer than two distinct positive finite points remain.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if np.unique(lx).size < 2:
        return math.nan, math.nan
    lx = lx - lx.mean()
    slope = float(np.sum(lx * (ly - ly.mean())) / np.sum(lx * lx))
    if lx.size < 3:
        return slope, math.nan
    resid = ly - ly.mean() - slope * lx
    return slope, float(math.sqrt(np.sum(resid**2) / (lx.size - 2) / np.sum(lx * lx)))


def fit_loglog_slope(ds, times) -> float:
    """Least-squares slope of ``log t`` against ``log d``, ignoring NaN/inf and non-positive entries.

    Returns NaN when fewer than two distinct ``d`` remain.

    Example:
        >>> fit_loglog_slope([10, 100, 1000], [1.0, 100.0, float("nan")])
        2.0
    """
    ds = np.asarray(ds, dtype=float).reshape(-1)
    times = np.asarray(times, dtype=float).reshape(-1)
    if ds.shape != times.shape:
        raise MimflowError(f"ds and times must have the same length, got {ds.shape[0]} and {times.shape[0]}")
    return loglog_slope(ds, times)[0]


@dataclass(frozen=True)
class SlopeEstimate:
    """Log-log slope of censoring-aware medians against ``d``, with its bootstrap standard error.

    ``fitted``/``fitted_se`` are ``None`` when a median is censored (or too few ``d``);
    ``bootstrap_censored_fraction``: share of bootstrap resamples with a censored median (the slope is
    not identified in those; above :data:`MAX_UNIDENTIFIED_RESAMPLES` the SE is ``None``).
    """

    fitted: float | None
    fitted_se: float | None
    bootstrap_censored_fraction: float


def loglog_slope_with_error(ds, samples, horizons, *, seed: int = 0, n_resamples: int = BOOTSTRAP_RESAMPLES,
                            log_times: bool = True) -> SlopeEstimate:
    """Slope of the Kaplan-Meier median against ``d`` (log-log) with a bootstrap-over-seeds SE.

    Args:
        ds: ``(D,)`` dimensions.
        samples: ``D`` arrays of escape times (NaN = not escaped by the horizon).
        horizons: ``(D,)`` horizon of each ``d`` (one per sample: type-I censoring).
        seed: bootstrap seed (results are reproducible).
        log_times: fit ``log median`` (default) or the median itself against ``log d`` (the slope
            ``dT/d ln d`` of a ``Theta(log d)`` time).
    """
    ds = np.asarray(ds, dtype=float)
    if len(samples) != ds.size or np.size(horizons) != ds.size:
        raise MimflowError("one sample and one horizon per d are needed")
    coded = [np.where(np.isfinite(np.asarray(s, dtype=float)), np.asarray(s, dtype=float), np.inf) for s in samples]
    if ds.size < 2 or any(c.size == 0 for c in coded):
        return SlopeEstimate(None, None, 0.0)
    medians = np.array([type1_median(c) for c in coded])
    if not np.all(np.isfinite(medians)) or (log_times and not np.all(medians > 0)):
        return SlopeEstimate(None, None, 1.0)
    lx = np.log(ds) - np.log(ds).mean()
    if np.sum(lx * lx) == 0:
        return SlopeEstimate(None, None, 0.0)

    def statistic(*resampled, axis=-1):
        med = np.stack([type1_median(r, axis=axis) for r in resampled], axis=-1)  # (..., D)
        with np.errstate(invalid="ignore", divide="ignore"):
            ly = np.log(med) if log_times else med
            return np.sum(lx * (ly - ly.mean(axis=-1, keepdims=True)), axis=-1) / np.sum(lx * lx)

    slope = float(statistic(*[c[None] for c in coded])[0])

    if any(c.size < 2 for c in coded):
        return SlopeEstimate(slope, None, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        res = stats.bootstrap(tuple(coded), statistic, n_resamples=n_resamples, vectorized=True, paired=False,
                              method="percentile", rng=seed_generator(seed))
    dist = np.asarray(res.bootstrap_distribution)
    finite = np.isfinite(dist)
    bad = float(np.mean(~finite))
    se = float(np.std(dist[finite], ddof=1)) if bad <= MAX_UNIDENTIFIED_RESAMPLES else None
    return SlopeEstimate(slope, se, bad)
