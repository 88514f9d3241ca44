r"""Exact escape times of the single-index population flows, by quadrature and in closed form (no ODE solver).

Part of the independent check of :mod:`mimflow.dynamics` (``theory`` never imports ``dynamics`` or
``training``). This module gives the *exact* single-index escape time by one-dimensional quadrature and
the closed form for a pure link; :mod:`mimflow.theory._leading_order` has the leading order in ``d``
(the table of docs/math/saddles.md §1.6), :mod:`mimflow.theory._saddle_strengths` and
:mod:`mimflow.theory._multi_index_escape` the predictions for every saddle of a multi-index link.

**Conventions** (docs/math/grassmannian-flow.md §1.4). Time is in the units of the flows: loss with the factor 1/2, unit
learning rate. A direction is *escaped* when its singular value of :math:`M = W_*^T W` first reaches
``threshold`` :math:`\theta` (default 1/2; :func:`mimflow.dynamics.direction_escape_times` measures
the same thing). We write :math:`m` for a singular value and :math:`x = m^2` for the matching
eigenvalue of :math:`G = M M^T` (:math:`x = G_{vv}` for a unit teacher direction ``v``), so the
threshold on ``x`` is :math:`\theta^2 = 1/4`.

Single index (docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6, docs/math/planted.md §1.7)
--------------------------------------------------------------------------------------------------------
With :math:`f_* = \sum_k \alpha_k h_k` (:math:`\alpha_k = c_k`) and :math:`m = w_*^T w`, the two flows
are closed scalar ODEs :math:`\dot m = v(m)`,

.. math::

    v_{tt}(m) = (1 - m^2)\sum_{k\ge1} k\,\alpha_k^2\, m^{2k-1}, \qquad
    v_{pl}(m) = (1 - m^2)\sum_{k\ge1} k\,\alpha_k^2\, m^{k-1}

(two-timescale: from :math:`L = \tfrac12\sum_k\alpha_k^2(1 - m^{2k})` and the Riemannian gradient
on the sphere, :math:`\dot m = -(1-m^2)L'(m)`; planted: :math:`L_{pl} = \sum_k\alpha_k^2(1-m^k)`).
Ridge (docs/math/finite-sample.md §1.8, two-timescale only) replaces :math:`\alpha_k^2` by
:math:`\alpha_k^2\,q_k/(q_k+\mu)` with :math:`q_k = \rho^k` (``kernel_decay`` :math:`\rho`), the
convention of :func:`mimflow.dynamics._flows.shrink_spectrum`. Both ``v`` are positive on
:math:`(0, 1)`, so the escape time is exactly

.. math::  t_{esc} = \int_{m_0}^{\theta}\frac{dm}{v(m)} = \int_{\ln m_0}^{\ln\theta}\frac{m\,du}{v(m)},\quad m = e^u,

computed by :func:`single_index_escape_time` with ``scipy.integrate.quad`` in :math:`u = \ln m`
(the integrand :math:`m/v(m) \approx m^{2-2s}/(s\alpha_s^2)` is huge near :math:`m_0` and smooth
and exponential in ``u``; in ``m`` it would be a near-singular power).

*Pure link* :math:`f_* = \alpha h_s`. Then :math:`t = \frac{1}{s\alpha^2}[E_n(\theta) - E_n(m_0)]`
with :math:`n = 2s - 1` (two-timescale) or :math:`n = s - 1` (planted) and the antiderivative of
:math:`m^{-n}/(1-m^2)` (expand :math:`1/(1-m^2) = \sum_j m^{2j}`; the finitely many negative powers
integrate to powers, the rest sums to :math:`m^{-1}/(1-m^2)` or :math:`1/(1-m^2)`):

.. math::

    n = 2q - 1:\; E_n(m) = -\sum_{i=1}^{q-1}\frac{m^{-2i}}{2i} + \ln m - \tfrac12\ln(1-m^2), \qquad
    n = 2q:\; E_n(m) = -\sum_{i=1}^{q}\frac{m^{1-2i}}{2i-1} + \operatorname{artanh} m .

(:func:`pure_link_escape_time`). Its expansion in ``d`` is the table of docs/math/saddles.md §1.6
(:mod:`mimflow.theory._leading_order`).

References:
    Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
    arXiv:2310.19793 (Thm 1.4/3.25, Remark 3.13, Thm 4.1; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6,
    docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate

from mimflow._errors import MimflowError, check_finite
from mimflow.hermite import HermiteSpectrum, MultivariateSpectrum, ridge_factors

ALGORITHMS = ("two-timescale", "planted")
DEFAULT_THRESHOLD = 0.5
"""Escape threshold on a singular value of ``M`` (as :mod:`mimflow.dynamics._saddles`)."""

QUAD_RTOL = 1e-12
"""Relative tolerance of the quadrature in :func:`single_index_escape_time` (measured agreement with
the pure-link closed form: < 1e-13 for s = 1..4, d = 1e2..1e10)."""


# ---------------------------------------------------------------------- checks


def _check_algorithm(algorithm) -> str:
    if algorithm not in ALGORITHMS:
        raise MimflowError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    return algorithm


def _check_threshold(threshold) -> float:
    check_finite("threshold", threshold)
    value = float(threshold)
    if not 0.0 < value < 1.0:
        raise MimflowError(f"threshold must be in (0, 1) (a singular value of M), got {threshold!r}: e.g. 0.5")
    return value


def _check_exponent(s) -> int:
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
        raise MimflowError(f"the exponent s must be a positive integer, got {s!r}")
    return int(s)


def _check_alpha2(alpha2) -> float:
    check_finite("alpha2", alpha2)
    value = float(alpha2)
    if value <= 0:
        raise MimflowError(f"alpha2 (squared Hermite coefficient) must be > 0, got {alpha2!r}")
    return value


def _initial_m0(d, x0, m0=None, *, threshold: float) -> float:
    """The initial singular value from exactly one of ``d`` (m0 = d^-1/2), ``x0`` (= m0^2) or ``m0``."""
    given = [name for name, value in (("d", d), ("x0", x0), ("m0", m0)) if value is not None]
    if len(given) != 1:
        raise MimflowError(f"give exactly one of d, x0 or m0 (the initial overlap), got {given or 'none'}")
    if d is not None:
        check_finite("d", d)
        if float(d) <= 1:
            raise MimflowError(f"d must be > 1, got {d!r}")
        value = float(d) ** -0.5
    elif x0 is not None:
        check_finite("x0", x0)
        if not float(x0) > 0:
            raise MimflowError(f"x0 (initial squared overlap) must be > 0, got {x0!r}")
        value = math.sqrt(float(x0))
    else:
        check_finite("m0", m0)
        value = float(m0)
        if not value > 0:
            raise MimflowError(f"m0 (initial overlap) must be > 0, got {m0!r}")
    if value >= threshold:
        raise MimflowError(f"the initial overlap {value:.4g} is already above the threshold {threshold}")
    return value


def _shrink_factors(degrees: np.ndarray, ridge: float, kernel_decay: float) -> np.ndarray:
    r"""Ridge factor :math:`q_k/(q_k+\mu)` on *squared* coefficients (docs/math/finite-sample.md §1.8; :func:`mimflow.hermite.ridge_factors`)."""
    return ridge_factors(degrees, ridge, kernel_decay)


def _check_ridge_algorithm(algorithm: str, ridge) -> None:
    if algorithm == "planted" and ridge:
        raise MimflowError("ridge applies to the two-timescale link fit only: use ridge=0 for the planted flow")


def _coefficients_1d(spectrum_1d) -> np.ndarray:
    if isinstance(spectrum_1d, HermiteSpectrum):
        c = np.asarray(spectrum_1d.coefficients, dtype=float)
    elif isinstance(spectrum_1d, MultivariateSpectrum):
        if spectrum_1d.r != 1:
            raise MimflowError(f"single_index_escape_time needs a one-variable spectrum, got r = {spectrum_1d.r}")
        c = np.asarray(spectrum_1d.values, dtype=float)  # order (0,), (1,), ..., (K,)
    else:
        try:
            c = np.asarray(spectrum_1d, dtype=float)
        except (TypeError, ValueError):
            raise MimflowError(
                f"expected a HermiteSpectrum (Link.spectrum(K)) or coefficients c_0..c_K, got {type(spectrum_1d).__name__}"
            ) from None
        if c.ndim != 1:
            raise MimflowError(f"coefficients must be a 1-D array c_0..c_K, got shape {c.shape}")
    if not np.all(np.isfinite(c)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    if len(c) < 2 or not np.any(c[1:] != 0):
        raise MimflowError("the link is constant (no Hermite component of degree >= 1): there is nothing to escape")
    return c


# ---------------------------------------------------------------------- single index


def single_index_velocity(m, alpha2, *, algorithm: str):
    r"""The single-index flow :math:`\dot m = v(m)` (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7), vectorised in ``m``.

    ``alpha2[k]`` is :math:`\alpha_k^2` for ``k = 0..K`` (entry 0 ignored). Two-timescale
    :math:`v = (1-m^2)\sum_k k\alpha_k^2 m^{2k-1}`; planted :math:`v = (1-m^2)\sum_k k\alpha_k^2 m^{k-1}`.

    Example:
        >>> float(single_index_velocity(0.5, [0.0, 0.0, 1.0], algorithm="two-timescale"))  # (3/4) 2 (1/8)
        0.1875
    """
    _check_algorithm(algorithm)
    a = np.asarray(alpha2, dtype=float)
    m = np.asarray(m, dtype=float)
    k = np.arange(len(a))[1:]
    powers = 2 * k - 1 if algorithm == "two-timescale" else k - 1
    total = np.sum(k * a[1:] * m[..., None] ** powers, axis=-1)
    return (1.0 - m**2) * total


def single_index_escape_time(
    spectrum_1d,
    *,
    algorithm: str,
    m0: float | None = None,
    d: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    ridge: float = 0.0,
    kernel_decay: float = 0.5,
) -> float:
    r"""Exact escape time of a single-index flow: :math:`\int_{m_0}^{\theta} dm / v(m)` by quadrature.

    :math:`v` is :func:`single_index_velocity` with :math:`\alpha_k^2 = c_k^2` (ridge-shrunk by
    :math:`q_k/(q_k+\mu)`, :math:`q_k = \rho^k`, for the two-timescale flow, docs/math/finite-sample.md §1.8). The
    integral is taken in :math:`u = \ln m`, :math:`t = \int m/v(m)\,du`, with ``scipy.integrate.quad``
    (``epsrel = 1e-12``, the interval cut into pieces of at most one unit of ``u``). Exact up to the
    truncation of the spectrum; no ODE solver. Module docstring.

    Args:
        spectrum_1d: :class:`~mimflow.hermite.HermiteSpectrum` (``Link.spectrum(K)``), a one-variable
            :class:`~mimflow.hermite.MultivariateSpectrum`, or coefficients ``c_0..c_K``.
        algorithm: ``"two-timescale"`` or ``"planted"``.
        m0: initial overlap :math:`w_*^Tw(0) \in (0, \theta)`; or give ``d`` for :math:`m_0 = d^{-1/2}`.
            (Planted, odd ``s``, :math:`m_0 < 0`: the flow never escapes; not accepted.)
        threshold: :math:`\theta \in (0, 1)`.
        ridge, kernel_decay: :math:`\mu \ge 0` and :math:`\rho` (two-timescale only).

    Example:
        >>> from mimflow import make_link
        >>> round(single_index_escape_time(make_link("h2").spectrum(4), algorithm="two-timescale", d=1000), 4)
        250.452
    """
    algorithm = _check_algorithm(algorithm)
    _check_ridge_algorithm(algorithm, ridge)
    threshold = _check_threshold(threshold)
    m_start = _initial_m0(d, None, m0, threshold=threshold)
    c = _coefficients_1d(spectrum_1d)
    alpha2 = c**2 * _shrink_factors(np.arange(len(c)), ridge, kernel_decay)
    k = np.arange(len(c))[1:]
    weights = k * alpha2[1:]
    powers = 2 * k - 2 if algorithm == "two-timescale" else k - 2  # v(m)/((1-m^2) m)

    def integrand(u: float) -> float:
        m = math.exp(u)
        return 1.0 / ((1.0 - m * m) * float(np.sum(weights * m**powers)))

    lo, hi = math.log(m_start), math.log(threshold)
    edges = np.linspace(lo, hi, max(2, int(math.ceil(hi - lo)) + 1))
    total = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        value, _ = integrate.quad(integrand, a, b, epsabs=0.0, epsrel=QUAD_RTOL, limit=200)
        total += value
    return float(total)


def _antiderivative(n: int, m: float) -> float:
    r""":math:`E_n(m) = \int^m x^{-n}/(1-x^2)\,dx` (module docstring)."""
    if n % 2 == 1:
        q = (n + 1) // 2
        return -sum(m ** (-2 * i) / (2 * i) for i in range(1, q)) + math.log(m) - 0.5 * math.log1p(-m * m)
    q = n // 2
    return -sum(m ** (1 - 2 * i) / (2 * i - 1) for i in range(1, q + 1)) + math.atanh(m)


def _power(n: int, m: float) -> float:
    r""":math:`\int^m x^{-n}\,dx` (the near-saddle ODE without saturation)."""
    return math.log(m) if n == 1 else m ** (1 - n) / (1 - n)


def _direction_time(s: int, alpha2: float, m_start: float, threshold: float, algorithm: str, saturation: bool) -> float:
    """Time for one direction, :math:`\\dot m = s\\alpha^2 m^{n}(1 - m^2)` (or without ``(1 - m^2)``)."""
    if m_start <= 0:
        return math.inf
    if m_start >= threshold:
        return 0.0
    n = 2 * s - 1 if algorithm == "two-timescale" else s - 1
    if saturation or (algorithm == "planted" and s == 1):  # planted s = 1: no saddle, keep (1 - m^2)
        value = _antiderivative(n, threshold) - _antiderivative(n, m_start)
    else:
        value = _power(n, threshold) - _power(n, m_start)
    return float(value / (s * alpha2))


def pure_link_escape_time(
    s: int,
    alpha2: float = 1.0,
    *,
    algorithm: str,
    d: float | None = None,
    x0: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> float:
    r"""Exact escape time of the single-index flow of the pure link :math:`\alpha h_s`, in closed form.

    :math:`t = [E_n(\theta) - E_n(m_0)]/(s\alpha^2)`, ``n = 2s - 1`` (two-timescale) or ``s - 1``
    (planted), :math:`m_0 = d^{-1/2}` or :math:`\sqrt{x_0}` (module docstring). Equal to
    :func:`single_index_escape_time` of :math:`\alpha h_s` (an independent formula for tests), and the
    saturated near-saddle law used by :func:`predicted_escape_times`.

    Example:
        >>> round(pure_link_escape_time(2, algorithm="two-timescale", d=1000), 4)
        250.452
    """
    algorithm = _check_algorithm(algorithm)
    s = _check_exponent(s)
    alpha2 = _check_alpha2(alpha2)
    threshold = _check_threshold(threshold)
    m_start = _initial_m0(d, x0, threshold=threshold)
    return _direction_time(s, alpha2, m_start, threshold, algorithm, True)


__all__ = [
    "ALGORITHMS",
    "DEFAULT_THRESHOLD",
    "pure_link_escape_time",
    "single_index_escape_time",
    "single_index_velocity",
]
