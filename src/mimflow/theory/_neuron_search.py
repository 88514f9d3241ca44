r"""The search phase of correlation-loss neurons (docs/math/neurons.md §2.2): escape time, its median and its law.

Notation of docs/math/neurons.md §2.2: index vectors
:math:`v_1..v_k` with Gram matrix ``Q``, overlaps :math:`m = V^T w`, loss
:math:`L(w) = -\sum_j g(v_j^T w)` on the sphere, :math:`g(m) = \sum_p a_p m^p`,
:math:`a_p = c_p(\sigma_*)c_p(\sigma)` (:func:`~mimflow.theory.correlation_coefficients`).

The largest overlap obeys :math:`\dot m \approx (1-m^2)g'(m)`, so a neuron starting at :math:`m_0`
escapes (reaches 1/2) at :math:`\int_{m_0}^{1/2}dm/((1-m^2)g'(m))` (the planted single-index integral
of :func:`~mimflow.theory.single_index_escape_time`), to leading order
:math:`m_0^{-(p-2)}/(p(p-2)a_p)` (:math:`\Theta(d^{p/2-1})`) for :math:`p = p^* \ge 3` and
:math:`\ln(1/m_0)/(2a_2)` (:math:`\Theta(\log d)`) for :math:`p^* = 2`
(:func:`~mimflow.theory.leading_order_escape_time` with ``algorithm="planted"``): :func:`neuron_search_time`.

Setting of :func:`search_time_prediction`: orthogonal index vectors
(``Q = I``), initial overlaps :math:`m(0) \approx N(0, I/d)`, and a neuron's escape time (its largest
overlap reaching the threshold 1/2) is :math:`T = \tau(q/\sqrt d)`, :math:`\tau` the single-index
integral :func:`neuron_search_time` (decreasing), ``q`` the largest of ``k``
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
from mimflow._seeds import seed_generator
from mimflow.theory._leading_order import leading_order_escape_time
from mimflow.theory._neuron_correlation import _check_a, _check_kn, information_exponent_of_g, parity_of_g
from mimflow.theory._single_index_escape import single_index_escape_time


def search_time_exponent(p_star: int) -> float:
    """Exponent of ``d`` in the search time: :math:`p^*/2 - 1` (0 means :math:`\\Theta(\\log d)` at ``p* = 2``)."""
    return max(p_star / 2.0 - 1.0, 0.0)


def neuron_search_time(a, m0: float, *, threshold: float = 0.5, exact: bool = True) -> float:
    r"""Escape time of a neuron whose largest overlap starts at ``m0`` (others negligible).

    ``exact``: :math:`\int_{m_0}^{\theta} dm/((1-m^2)g'(m))` (the planted single-index integral,
    :func:`~mimflow.theory.single_index_escape_time` with :math:`\alpha_p^2 = a_p`, requires all
    :math:`a_p \ge 0`); else the leading order of docs/math/neurons.md §2.2 (:math:`m_0^{-(p-2)}/(p(p-2)a_p)` or
    :math:`\ln(1/m_0)/(2a_2)`).
    """
    a = _check_a(a)
    p = information_exponent_of_g(a)
    if p < 2:
        raise MimflowError("g has a degree-1 term: there is no search phase (p* = 1)")
    if not 0 < m0 < threshold:
        return 0.0 if m0 >= threshold else math.inf
    if exact:
        if np.any(a[1:] < 0):
            raise MimflowError("the exact search-time integral needs a_p >= 0 (sigma = sigma*); use exact=False")
        return single_index_escape_time(np.sqrt(np.clip(a, 0.0, None)), algorithm="planted", m0=m0,
                                        threshold=threshold)
    return leading_order_escape_time(p, float(a[p]), algorithm="planted", x0=m0 * m0)


def _top_overlap_cdf(x, k: int, parity: str):
    """CDF of ``q``: the largest of ``k`` standard normals (odd) or of their absolute values (even)."""
    if parity == "even":
        return (2.0 * stats.norm.cdf(x) - 1.0) ** k
    return stats.norm.cdf(x) ** k


def _quantile(cdf, level: float) -> float:
    return float(optimize.brentq(lambda x: cdf(x) - level, 1e-12, 40.0, xtol=1e-14))


def search_time_prediction(a, k: int, d: int, n: int = 1, *, threshold: float = 0.5) -> dict:
    r"""Predicted medians of the search time for ``Q = I`` at dimension ``d`` (module docstring).

    The initial overlaps are :math:`N(0, 1/d)` to leading order; a neuron's escape time is
    :func:`neuron_search_time` of its largest relevant overlap :math:`q/\sqrt d` (decreasing in ``q``),
    so its median is the time at the median of ``q`` (among neurons that escape: for odd ``g``,
    conditionally on :math:`q > 0`). For ``n`` neurons: the network's *first* escape uses the median of
    the largest ``q`` among ``n`` neurons (CDF :math:`F^n`), its *last* escape (every escaping neuron)
    the median of the smallest (survival :math:`(1 - F_c)^n`). Returns exact-integral and
    leading-order values and the exponent of ``d``.

    For :math:`p^* = 2` the other overlaps grow at the same rate as the largest, and this single-overlap
    value is short by a nearly constant time (0.077 for ``h2``, ``k = 4``: 6 % to 3 % of the median for
    ``d = 1e3..1e5``):
    :func:`search_time_quantiles` uses the exact closed form for a quadratic ``g``.
    """
    a = _check_a(a)
    _check_kn(k, n)
    parity = parity_of_g(a)
    p = information_exponent_of_g(a)
    if parity == "mixed":
        parity = "even" if p % 2 == 0 else "odd"
    base = 0.0 if parity == "even" else 0.5**k

    def cond_cdf(x):
        return (_top_overlap_cdf(x, k, parity) - base) / (1.0 - base)

    q_neuron = _quantile(cond_cdf, 0.5)
    q_first = _quantile(lambda x: cond_cdf(x) ** n, 0.5)
    q_last = _quantile(lambda x: 1.0 - (1.0 - cond_cdf(x)) ** n, 0.5)
    out = {"information_exponent": p, "exponent_of_d": search_time_exponent(p),
           "scaling": "log d" if p == 2 else f"d^{search_time_exponent(p):g}",
           "typical_initial_overlap": q_neuron / math.sqrt(d)}
    exact_ok = not np.any(a[1:] < 0)
    for label, q in (("neuron_median", q_neuron), ("network_first_median", q_first), ("network_last_median", q_last)):
        m0 = q / math.sqrt(d)
        out[label] = neuron_search_time(a, m0, threshold=threshold, exact=exact_ok)
        out[label + "_leading_order"] = neuron_search_time(a, m0, threshold=threshold, exact=False)
    return out


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
    rng = seed_generator(seed, 20_241_108, d, k)
    z = rng.standard_normal((draws, k))
    rest = rng.chisquare(d - k, size=draws) if d > k else np.zeros(draws)
    return z / np.sqrt(np.sum(z * z, axis=1) + rest)[:, None]


def search_time_quantiles(a, k: int, d: int, levels=(0.1, 0.5, 0.9), *, n: int = 1, which: str = "neuron",
                          threshold: float = 0.5) -> np.ndarray:
    r"""Predicted quantiles of the search time (module docstring): :math:`T_\ell = \tau(q_{1-\ell}/\sqrt d)`.

    Example:
        >>> from mimflow.theory import correlation_coefficients
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


__all__ = [
    "is_quadratic",
    "neuron_search_time",
    "quadratic_search_times",
    "search_time_exponent",
    "search_time_prediction",
    "search_time_quantiles",
    "search_time_survival",
]
