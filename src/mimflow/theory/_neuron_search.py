r"""The law of a neuron's search time (docs/math/neurons.md §2.2), not only its median: quantiles and survival.

Setting of :func:`~mimflow.theory._neurons.search_time_prediction`: orthogonal index vectors
(``Q = I``), initial overlaps :math:`m(0) \approx N(0, I/d)`, and a neuron's escape time (its largest
overlap reaching the threshold 1/2) is :math:`T = \tau(q/\sqrt d)`, :math:`\tau` the single-index
integral :func:`~mimflow.theory._neurons.neuron_search_time` (decreasing), ``q`` the largest of ``k``
standard normals (odd :math:`p^*`, conditionally on :math:`q > 0`: a neuron whose overlaps all start
:math:`\le 0` never escapes, docs/math/neurons.md §2.3) or of their absolute values (even). Hence, with
:math:`F_q` the (conditional) CDF of ``q``:

* quantile :math:`T_\ell = \tau(q_{1-\ell}/\sqrt d)` (:func:`search_time_quantiles`);
* survival :math:`P(T > t) = F_q(q_t)`, :math:`\tau(q_t/\sqrt d) = t` (:func:`search_time_survival`),
  the predicted censored fraction at a horizon ``t``;
* for ``n`` independent neurons the first escape has :math:`F_q^n` and the last :math:`1 - (1 - F_q)^n`.

For :math:`p^* \ge 3`, :math:`\tau \propto (q/\sqrt d)^{-(p^*-2)}` to leading order, so every quantile
grows like :math:`d^{p^*/2-1}` and the survival at ``t = c\,T_{1/2}`` does not depend on ``d``. The
other overlaps enter :math:`\dot m_{max}` only at relative order :math:`m^2`, so this is accurate there.

**Quadratic g** (:math:`g = a_0 + a_2m^2`, :math:`p^* = 2`): the other overlaps are *not* negligible,
they grow at the same rate: :math:`\dot m = 2a_2m(1 - |m|^2)`, so every :math:`m_j` keeps its share of
:math:`r = |m|^2`, which is logistic, :math:`\dot r = 4a_2r(1-r)`. The search time of a neuron is then
exactly (:func:`quadratic_search_times`)

.. math:: T = \frac{1}{4a_2}\ln\frac{\theta^2(1 - r_0)}{m_{max}(0)^2 - \theta^2r_0},\qquad r_0 = |m(0)|^2,

longer than the single-index :math:`\tau(m_{max}(0))` (median 0.077 longer for ``h2``, ``k = 4``: 6 % at
``d = 1e3``, 3 % at ``1e5``); its quantiles are taken by
Monte Carlo over the exact law of :math:`m(0)` (first ``k`` coordinates of a uniform unit vector).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from mimflow._errors import MimflowError
from mimflow.theory._neurons import _check_a, _check_kn, information_exponent_of_g, neuron_search_time, parity_of_g


def _law_of_q(a, k: int, n: int = 1, which: str = "neuron"):
    """``(cdf of q, exact)``; ``which``: ``neuron``, ``first`` (largest of ``n``) or ``last`` (smallest of ``n``)."""
    a = _check_a(a)
    _check_kn(k, n)
    p = information_exponent_of_g(a)
    if p < 2:
        raise MimflowError("g has a degree-1 term: there is no search phase (p* = 1)")
    parity = parity_of_g(a)
    if parity == "mixed":
        parity = "even" if p % 2 == 0 else "odd"
    base = 0.0 if parity == "even" else 0.5**k

    def cond(x):
        top = (2.0 * stats.norm.cdf(x) - 1.0) ** k if parity == "even" else stats.norm.cdf(x) ** k
        return (top - base) / (1.0 - base)

    laws = {"neuron": cond, "first": lambda x: cond(x) ** n, "last": lambda x: 1.0 - (1.0 - cond(x)) ** n}
    if which not in laws:
        raise MimflowError(f"which must be neuron, first or last, got {which!r}")
    return laws[which], not np.any(a[1:] < 0)


QUADRATIC_DRAWS = 200_000
"""Monte Carlo draws of :math:`m(0)` for the quantiles of a quadratic ``g`` (quantile SE ~ 0.1 % of the IQR)."""


def is_quadratic(a) -> bool:
    """Whether :math:`g = a_0 + a_2m^2` (no other non-zero coefficient)."""
    a = _check_a(a)
    scale = np.max(np.abs(a[1:]))
    support = np.nonzero(np.abs(a[1:]) > 1e-12 * scale)[0] + 1
    return bool(support.tolist() == [2])


def quadratic_search_times(a, m0, *, threshold: float = 0.5) -> np.ndarray:
    """Exact search times ``(...)`` of neurons with initial overlaps ``m0 (..., k)`` for ``Q = I`` and a quadratic ``g``."""
    a = _check_a(a)
    if not is_quadratic(a) or a[2] <= 0:
        raise MimflowError("the closed-form search time needs g = a_0 + a_2 m^2 with a_2 > 0")
    m0 = np.asarray(m0, dtype=float)
    r0 = np.sum(m0 * m0, axis=-1)
    top = np.max(m0 * m0, axis=-1)
    th2 = threshold * threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(th2 * (1.0 - r0) / (top - th2 * r0)) / (4.0 * a[2])
    return np.where(top >= th2, 0.0, t)


def _uniform_overlaps(k: int, d: int, draws: int, seed: int) -> np.ndarray:
    """``(draws, k)``: first ``k`` coordinates of a uniform unit vector in ``R^d`` (exact law)."""
    rng = np.random.default_rng(np.random.SeedSequence([20_241_108, d, k, seed]))
    z = rng.standard_normal((draws, k))
    rest = rng.chisquare(d - k, size=draws) if d > k else np.zeros(draws)
    return z / np.sqrt(np.sum(z * z, axis=1) + rest)[:, None]


def search_time_quantiles(a, k: int, d: int, levels=(0.1, 0.5, 0.9), *, n: int = 1, which: str = "neuron",
                          threshold: float = 0.5) -> np.ndarray:
    r"""Predicted quantiles of the search time (module docstring): :math:`T_\ell = \tau(q_{1-\ell}/\sqrt d)`.

    Example:
        >>> from mimflow.theory._neurons import correlation_coefficients, search_time_prediction
        >>> a = correlation_coefficients("h3")
        >>> t = search_time_quantiles(a, 4, 10_000, [0.5])[0]
        >>> round(float(t / search_time_prediction(a, 4, 10_000)["neuron_median"]), 12)
        1.0

    A quadratic ``g`` (module docstring) uses the exact search time, by Monte Carlo over :math:`m(0)`.
    """
    cdf, exact = _law_of_q(a, k, n, which)
    if which == "neuron" and is_quadratic(a) and a[2] > 0 and d > k:
        times = quadratic_search_times(a, _uniform_overlaps(k, d, QUADRATIC_DRAWS, 0), threshold=threshold)
        levels = np.atleast_1d(np.asarray(levels, dtype=float))
        if np.any((levels <= 0) | (levels >= 1)):
            raise MimflowError(f"quantile levels must be in (0, 1), got {levels.tolist()}")
        return np.quantile(times, levels)
    out = []
    for level in np.atleast_1d(np.asarray(levels, dtype=float)):
        if not 0.0 < level < 1.0:
            raise MimflowError(f"quantile levels must be in (0, 1), got {level}")
        q = optimize.brentq(lambda x: cdf(x) - (1.0 - level), 1e-12, 40.0, xtol=1e-14)
        out.append(neuron_search_time(a, q / math.sqrt(d), threshold=threshold, exact=exact))
    return np.asarray(out)


def search_time_survival(a, k: int, d: int, t: float, *, n: int = 1, which: str = "neuron",
                         threshold: float = 0.5) -> float:
    """Predicted :math:`P(T > t)` (module docstring): the censored fraction expected at a horizon ``t``."""
    cdf, exact = _law_of_q(a, k, n, which)
    a = _check_a(a)
    if which == "neuron" and is_quadratic(a) and a[2] > 0 and d > k:
        times = quadratic_search_times(a, _uniform_overlaps(k, d, QUADRATIC_DRAWS, 0), threshold=threshold)
        return float(np.mean(times > t))
    sqd = math.sqrt(d)
    q_hi = threshold * sqd * (1 - 1e-12)
    if t <= 0:
        return 1.0
    if neuron_search_time(a, 1e-12 / sqd, threshold=threshold, exact=exact) <= t:
        return 0.0

    def gap(logq):
        return math.log(neuron_search_time(a, math.exp(logq) / sqd, threshold=threshold, exact=exact)) - math.log(t)

    if gap(math.log(q_hi)) >= 0:  # even the largest start takes longer than t
        return 1.0
    q_t = math.exp(optimize.brentq(gap, math.log(1e-12), math.log(q_hi), xtol=1e-12))
    return float(cdf(q_t))
