r"""Escape times of the saddles of the population flows, without any ODE solver.

This module is the independent check of :mod:`mimflow.dynamics` (it imports only ``hermite`` and
``targets`` and the sibling :mod:`._exponents`). It gives (i) the *exact* single-index escape time by
one-dimensional quadrature, (ii) the closed forms of docs/math/saddles.md §1.6 (leading order in ``d``), and (iii)
leading-order predictions for every saddle of a multi-index link, derived below.

**Conventions** (docs/math/grassmannian-flow.md §1.4). Time is in the units of the flows: loss with the factor 1/2, unit
learning rate. A direction is *escaped* when its singular value of :math:`M = W_*^T W` first reaches
``threshold`` :math:`\theta` (default 1/2; :func:`mimflow.dynamics.direction_escape_times` measures
the same thing). We write :math:`m` for a singular value and :math:`x = m^2` for the matching
eigenvalue of :math:`G = M M^T` (:math:`x = G_{vv}` for a unit teacher direction ``v``), so the
threshold on ``x`` is :math:`\theta^2 = 1/4`.

1. Single index (docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6, docs/math/planted.md §1.7)
-----------------------------------------------------------------------------------------------------------
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

(:func:`pure_link_escape_time`). With :math:`m_0 = d^{-1/2}` its expansion in ``d`` gives the table
of docs/math/saddles.md §1.6 as the leading term (:func:`leading_order_escape_time`) and the relative size
of the next one, :math:`t_{exact}/t_{table} - 1` (used for test tolerances):

* two-timescale ``s >= 3``: :math:`d^{s-1}/(2s(s-1)\alpha_s^2)`; next term :math:`+(s-1)/((s-2)d)`;
* two-timescale ``s = 2``: :math:`d/(4\alpha_2^2)`; next term
  :math:`(\ln(d\theta^2/(1-\theta^2)) - \theta^{-2})/d`;
* two-timescale ``s = 1``: :math:`\ln d/(2\alpha_1^2)`; next term
  :math:`\ln(\theta^2/(1-\theta^2))/\ln d` (:math:`= -\ln 3/\ln d`);
* planted ``s >= 5``: :math:`d^{s/2-1}/(s(s-2)\alpha_s^2)`; next term :math:`+(s-2)/((s-4)d)`;
* planted ``s = 4``: :math:`d/(8\alpha_4^2)`; next term as two-timescale ``s = 2``;
* planted ``s = 3``: :math:`d^{1/2}/(3\alpha_3^2)`; next term
  :math:`(\operatorname{artanh}\theta - 1/\theta)/\sqrt d` (:math:`= -1.45/\sqrt d`);
* planted ``s = 2``: :math:`\ln d/(4\alpha_2^2)`; next term as two-timescale ``s = 1``;
* planted ``s = 1``: :math:`\operatorname{artanh}(\theta)/\alpha_1^2` (``d``-free); next term
  :math:`-1/(\sqrt d\,\operatorname{artanh}\theta)`.

*Planted s = 1* (decided here; docs/math/planted.md): :math:`m = 0` is not a critical point
(:math:`v(0) = \alpha_1^2 > 0`), there is no saddle and no plateau; for the linear link
:math:`\dot m = \alpha_1^2(1 - m^2)` gives :math:`t = (\operatorname{artanh}\theta - \operatorname{artanh} m_0)/\alpha_1^2
\to \operatorname{artanh}(\theta)/\alpha_1^2 = \ln 3/(2\alpha_1^2)` at :math:`\theta = 1/2`: ``O(1)``,
independent of ``d`` at leading order (slope 0). Unlike every other row, the whole path is at
:math:`m = O(1)`, so for a general ``s = 1`` link the higher coefficients change the constant:
use :func:`single_index_escape_time` for it. Note also that docs/math/saddles.md §1.6 states "< 1% for s >= 2"
for the whole table; this holds for the two-timescale rows ``s >= 2`` at ``d >= 1e3`` and for planted
``s = 4``, but planted ``s = 3`` is off by :math:`1.45/\sqrt d` (4.6% at ``d = 1e3``, < 1% only for
``d > 2.1e4``) and the logarithmic row planted ``s = 2`` by :math:`\ln 3/\ln d` (16% at ``d = 1e3``).

2. Multi-index, two-timescale (derived here; docs/math/saddles.md §1.6 gives only the mechanism)
----------------------------------------------------------------------------------
Write :math:`c(G) = \langle A_G f_*, f_*\rangle = \sum_k\langle G^{\otimes k}S_k, S_k\rangle`, so
:math:`\ell(M) = -\tfrac12 c(MM^T)` and :math:`\nabla_M\ell = -C M` with the symmetric
:math:`C = \partial c/\partial G`. The flow :math:`\dot M = (I - MM^T)CM` gives

.. math::  \dot G = (I - G)\,C\,G + G\,C\,(I - G).

*At a saddle.* Let ``U`` (``u`` orthonormal columns) be learned: :math:`G_{UU} = I_u`. Since
:math:`G \preceq I`, :math:`I - G \succeq 0` with a zero ``UU`` block forces :math:`G_{U\perp} = 0`,
so (up to exponentially small relaxation) :math:`G = \mathrm{diag}(I_u, G_\perp)` and, because
:math:`A_{\mathrm{diag}(I, G_\perp)}` acts as the identity on the ``U`` variables,

.. math::

    c(G) = \mathrm{const} + \sum_{\beta_U}\langle G_\perp^{\otimes s} T_{\beta_U}, T_{\beta_U}\rangle
    + O(\|G_\perp\|^{s+1}),

with :math:`T_{\beta_U}` the symmetric degree-``s`` tensor on :math:`U_\perp` of the coefficients
:math:`\alpha_{(\beta_U, \beta_\perp)}`, :math:`|\beta_\perp| = s` (the construction of
:func:`~mimflow.theory.saddle_sequence`; ``s`` is its exponent). For a new direction
:math:`v \in U_\perp` with :math:`G_\perp \approx x\,vv^T`,
:math:`v^T C v = s\,x^{s-1}\sum_{\beta_U} T_{\beta_U}(v^{\otimes s})^2 = s\,\alpha_{eff}^2\,x^{s-1}` and

.. math::

    \dot x = 2\,v^T(I - G)CGv = 2 s\,\alpha_{eff}^2\, x^s (1 - x),\qquad
    \alpha_{eff}^2 = \sum_{\beta_U} T_{\beta_U}(v^{\otimes s})^2 .

When the saddle picks up one direction, :math:`\Sigma = \sum_{\beta_U}\mathrm{unfold}(T_{\beta_U})
\mathrm{unfold}(T_{\beta_U})^T` has rank one, which forces :math:`T_{\beta_U} = c_{\beta_U} v^{\otimes s}`
for all :math:`\beta_U`, so :math:`\alpha_{eff}^2` *is* the eigenvalue of :math:`\Sigma`
(:func:`saddle_strengths`); for a single-index link it is :math:`\alpha_s^2`. Dropping the saturation
:math:`(1-x)` gives the brief's :math:`\dot x = 2s\alpha_{eff}^2 x^s` and

.. math::

    \tau = \frac{x_0^{1-s} - \theta^{2(1-s)}}{2s(s-1)\alpha_{eff}^2}\ (s \ge 2),\qquad
    \tau = \frac{\ln(\theta^2/x_0)}{2\alpha_{eff}^2}\ (s = 1);

keeping it (``saturation=True``, the default) gives the pure-link closed form above with
:math:`m_0 = \sqrt{x_0}`, which is *exact* for a single-index pure link and differs from the
power law only at relative order :math:`1/d` (``s >= 3``), :math:`\ln d/d` (``s = 2``) and
:math:`1/\ln d` (``s = 1``: :math:`\tfrac12\ln\tfrac43` absolute, 5% at ``d = 1e3``).

*Initial overlap of the new direction.* At ``t = 0``, :math:`G_{vv} = |W^Tv|^2 \sim
\mathrm{Beta}(p/2, (d-p)/2)` for a Haar student of rank ``p``, with :math:`E[G_{vv}] = p/d` (checked
against :func:`mimflow.dynamics.haar_overlaps_batch` in the tests). While ``U`` is learned the
Grassmannian velocity :math:`\dot W = (I - WW^T)W_* C\, W_*^T W` vanishes on the student directions
orthogonal to :math:`W^T U` (``C`` is concentrated on ``U`` then): the student keeps the
``(p-u)``-dimensional part :math:`K = \{W(0)c : M_U(0)c = 0\}` of its initial span and swaps the
rest for ``U``. So the new direction starts from :math:`x_0 = |P_K v|^2 = |P^\perp_{\mathrm{row}(M_U)}
m_v|^2` (``m_v`` the row of :math:`M(0)` for ``v``; :func:`initial_saddle_overlaps` computes it per
seed), whose law is :math:`\chi^2_{p-u}/d` up to ``O(1/d)``: :math:`E[x_0] = (p-u)/d` (``initial="mean"``).
(The slow degree-``s`` drift of :math:`G_{vv}` while earlier saddles are escaped is a relative
:math:`O(d^{-1})` effect; the duration counts from the end of the previous saddle.)

*Heavy tail and medians.* For ``s >= 3``, :math:`\tau \propto x_0^{1-s}` with
:math:`x_0 \sim \chi^2_k/d`: :math:`P(\tau > T) \sim T^{-k/(2(s-1))}` (``k = 1, s = 3``: :math:`T^{-1/4}`),
so the mean time is infinite or dominated by rare seeds. Compare *medians* over seeds: because
:math:`\tau` is a decreasing function of :math:`x_0` alone at leading order,
:math:`\mathrm{median}(\tau) = \tau(\mathrm{median}\,x_0)` exactly, which is ``initial="median"`` (the
default): :math:`x_0 = \mathrm{median}(\chi^2_{p-u})/d`. Using the mean instead would predict the
median of an ``s = 3`` saddle with ``p - u = 1`` too small by :math:`(1/0.455)^2 = 4.8`.

*Sequence.* Saddles are escaped one after another: the predicted absolute time of saddle ``j`` is
the sum of the durations of saddles ``<= j``. (When exponents differ the earlier durations are
negligible anyway; when a later saddle needs an earlier one learned, e.g. the staircase
``z1 + z1*z2``, the sum is the right reading.)

*Several directions in one saddle* (``n > 1`` eigenvalues of :math:`\Sigma` above threshold).
The measured escape is the *last* of its ``n`` singular values; we use the smallest kept
eigenvalue of :math:`\Sigma` for :math:`\alpha_{eff}^2` (the brief suggested the largest: that
predicts the *first* of them; both agree for isotropic :math:`T`, e.g. ``h2(z1) + h2(z2)``) and for
:math:`x_0` the smallest eigenvalue of the ``n x n`` block :math:`Y Y^T`, :math:`Y` the projected
new rows of :math:`M(0)`, whose law is that of :math:`\lambda_{min}(\mathrm{Wishart}_n(p-u, I))/d`
(mean/median by a fixed-seed Monte Carlo of 200 000 draws, relative error ~0.3%). Exact only for
isotropic :math:`T`; a crude leading order otherwise.

*Student rank.* ``p < u + n``: the student cannot hold the saddle's directions (it learns at most
``p - u`` of them, and the measured saddle time is NaN): the saddle and every later one are
returned as ``inf`` ("not reached").

3. Multi-index, planted (docs/math/planted.md §1.7)
-------------------------------------
Only for links *separable in their coordinates*, :math:`f_* = \sum_i g_i(z_i)` (every non-zero
:math:`\alpha_\beta`, :math:`|\beta|\ge1`, has one non-zero index); refused otherwise. Then
:math:`\langle A_M f_*, f_*\rangle = \sum_i \sum_k \alpha_{k e_i}^2 M_{ii}^k` (off-diagonal entries
enter only through cross terms of equal degree, absent for the coordinate-separable spectrum), the
Stiefel projection couples the columns only at higher order while :math:`M` is small, and each
diagonal overlap :math:`m_i = M_{ii}` follows the single-index planted ODE with its own exponent
:math:`s_i` and :math:`\alpha_i^2 = \alpha_{s_i e_i}^2`, *in parallel* from ``t = 0`` (not one after
another). Assumptions: (a) the student column ``i`` stays paired with variable ``i`` (true while
:math:`M` is small; links with several variables of equal degree, e.g. :math:`\sum_i h_3(z_i)`, have
competing cross terms and spurious minima, docs/math/planted.md §1.7, where this is an order of magnitude only);
(b) for odd :math:`s_i` only :math:`m_i(0) > 0` escapes (from :math:`m_i(0) < 0` the flow stalls at
:math:`m_i \to 0^-`; about half the seeds), and ``initial="median"`` is the median over the escaping
seeds, :math:`m_0^2 = \mathrm{median}(\chi^2_1)/d`; ``"mean"`` uses :math:`E[M_{ii}^2] = 1/d`. Saddle
``j`` of :func:`~mimflow.theory.saddle_sequence` is escaped at the largest time among its directions;
the returned times are made non-decreasing (the measured ones are, being crossings of ordered
singular values).

4. Slopes
---------
:func:`escape_time_slope` gives the predicted log-log slope of escape time against ``d``:
``s - 1`` (two-timescale), ``s/2 - 1`` (planted), and 0 for the logarithmic rows (two-timescale
``s = 1``, planted ``s = 2``) and the ``O(1)`` planted ``s = 1``. At finite ``d`` the log rows have
:math:`d\ln t/d\ln d = 1/(\ln d + \ln(\theta^2/(1-\theta^2))) = 1/(\ln d - \ln 3)`, not 0: below
0.1 only for :math:`d > 3e^{10} \approx 6.6\times10^4`. :func:`fit_loglog_slope` fits the slope.

References:
    Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
    arXiv:2310.19793 (Thm 1.4/3.25, Remark 3.13, Thm 4.1; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6,
    docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import integrate, stats

from mimflow import _jax  # noqa: F401  (x64)
from mimflow.hermite import ridge_factors
from mimflow._errors import MimflowError, check_finite
from mimflow.hermite import HermiteSpectrum
from mimflow.hermite import MultivariateSpectrum, coefficients_to_tensor, tensor_to_coefficients
from mimflow.theory._exponents import DEFAULT_RTOL, _apply_to_modes, as_multivariate, saddle_sequence
from mimflow.theory._statistics import loglog_slope

ALGORITHMS = ("two-timescale", "planted")
DEFAULT_THRESHOLD = 0.5
"""Escape threshold on a singular value of ``M`` (as :mod:`mimflow.dynamics._saddles`)."""

QUAD_RTOL = 1e-12
"""Relative tolerance of the quadrature in :func:`single_index_escape_time` (measured agreement with
the pure-link closed form: < 1e-13 for s = 1..4, d = 1e2..1e10)."""

WISHART_SAMPLES = 200_000
"""Monte Carlo draws for the initial overlap of multi-direction saddles (fixed seed)."""


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
    truncation of the spectrum; no ODE solver. Module docstring, section 1.

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
    r""":math:`E_n(m) = \int^m x^{-n}/(1-x^2)\,dx` (module docstring, section 1)."""
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
    (planted), :math:`m_0 = d^{-1/2}` or :math:`\sqrt{x_0}` (module docstring, section 1). Equal to
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


def leading_order_escape_time(
    s: int,
    alpha2: float,
    *,
    algorithm: str,
    d: float | None = None,
    x0: float | None = None,
    threshold: float | None = None,
) -> float:
    r"""Leading-order escape time of a single direction (docs/math/saddles.md §1.6 table).

    With ``threshold=None`` (default) the table of docs/math/saddles.md §1.6, with ``d`` replaced by :math:`1/x_0`
    when ``x0`` (the initial *squared* overlap :math:`m_0^2 = G_{vv}(0)`) is given:

    * two-timescale, ``s >= 2``: :math:`x_0^{1-s}/(2s(s-1)\alpha_s^2)`; ``s = 1``: :math:`\ln(1/x_0)/(2\alpha_1^2)`;
    * planted, ``s >= 3``: :math:`x_0^{1-s/2}/(s(s-2)\alpha_s^2)`; ``s = 2``: :math:`\ln(1/x_0)/(4\alpha_2^2)`;
      ``s = 1``: :math:`\operatorname{artanh}(1/2)/\alpha_1^2 = \ln 3/(2\alpha_1^2)` (no saddle, ``d``-free;
      decided and derived in the module docstring).

    With a ``threshold`` :math:`\theta`: the exact time of the near-saddle ODE without saturation,
    two-timescale :math:`\dot x = 2s\alpha^2 x^s` from :math:`x_0` to :math:`\theta^2`,
    :math:`(x_0^{1-s} - \theta^{2(1-s)})/(2s(s-1)\alpha^2)` or :math:`\ln(\theta^2/x_0)/(2\alpha^2)`;
    planted :math:`\dot m = s\alpha^2 m^{s-1}`, :math:`(m_0^{2-s} - \theta^{2-s})/(s(s-2)\alpha^2)` or
    :math:`\ln(\theta/m_0)/(2\alpha^2)`, and for planted ``s = 1``
    :math:`(\operatorname{artanh}\theta - \operatorname{artanh}m_0)/\alpha^2`.

    Args:
        s: the (relative) information exponent of the direction.
        alpha2: :math:`\alpha_s^2` (or :math:`\alpha_{eff}^2` of a saddle).
        algorithm: ``"two-timescale"`` or ``"planted"``.
        d, x0: exactly one (:math:`x_0 = 1/d`).
        threshold: ``None`` (the table) or :math:`\theta \in (0, 1)`.

    Example:
        >>> leading_order_escape_time(3, 1.0, algorithm="two-timescale", d=1000)  # d^2 / 12
        83333.33333333333
    """
    algorithm = _check_algorithm(algorithm)
    s = _check_exponent(s)
    alpha2 = _check_alpha2(alpha2)
    if threshold is not None:
        theta = _check_threshold(threshold)
        m_start = _initial_m0(d, x0, threshold=theta)
        return _direction_time(s, alpha2, m_start, theta, algorithm, False)
    _initial_m0(d, x0, threshold=1.0)  # validation
    inv_x0 = float(d) if d is not None else 1.0 / float(x0)
    if algorithm == "two-timescale":
        if s == 1:
            return math.log(inv_x0) / (2.0 * alpha2)
        return inv_x0 ** (s - 1) / (2.0 * s * (s - 1) * alpha2)
    if s == 1:
        return math.atanh(DEFAULT_THRESHOLD) / alpha2
    if s == 2:
        return math.log(inv_x0) / (4.0 * alpha2)
    return inv_x0 ** (s / 2.0 - 1.0) / (s * (s - 2) * alpha2)


def escape_time_slope(s: int, algorithm: str) -> float:
    r"""Predicted log-log slope of escape time against ``d`` (docs/math/saddles.md §1.6, docs/math/planted.md §1.7).

    ``s - 1`` (two-timescale, ``s >= 2``), ``s/2 - 1`` (planted, ``s >= 3``), and 0 for the
    logarithmic cases (two-timescale ``s = 1``, planted ``s = 2``) and planted ``s = 1`` (``O(1)``).
    At finite ``d`` a time :math:`\propto \ln d + c` has local slope :math:`1/(\ln d + c)`
    (:math:`c = \ln(\theta^2/(1-\theta^2)) = -\ln 3` for the pure links at :math:`\theta = 1/2`), which
    is below 0.1 only for :math:`d \gtrsim 6.6\times 10^4`: fit those over large ``d``.

    Example:
        >>> escape_time_slope(3, "two-timescale"), escape_time_slope(3, "planted"), escape_time_slope(2, "planted")
        (2.0, 0.5, 0.0)
    """
    algorithm = _check_algorithm(algorithm)
    s = _check_exponent(s)
    if algorithm == "two-timescale":
        return float(s - 1)
    return max(s / 2.0 - 1.0, 0.0)


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


# ---------------------------------------------------------------------- multi-index


def _saddle_sigma(spectrum: MultivariateSpectrum, U: np.ndarray, s: int, alpha_scale: np.ndarray) -> np.ndarray:
    r""":math:`\Sigma = \sum_{\beta_U}\mathrm{unfold}(T_{\beta_U})\mathrm{unfold}(T_{\beta_U})^T` on
    :math:`U_\perp` (coordinates: the complement basis returned alongside).

    ``alpha_scale[k]`` multiplies every coefficient of degree ``k`` (square root of the ridge factor).
    """
    r, m = spectrum.r, U.shape[1]
    complement = np.linalg.svd(U, full_matrices=True)[0][:, m:] if m else np.eye(r)
    R = np.concatenate([U, complement], axis=1)
    q = r - m
    blocks: dict[tuple[int, ...], list[tuple[tuple[int, ...], float]]] = {}
    for k in range(s, spectrum.degree + 1):
        betas, values = tensor_to_coefficients(_apply_to_modes(spectrum.tensor(k), R), r, k)
        for beta, value in zip(betas, values):
            perp = tuple(int(b) for b in beta[m:])
            if sum(perp) == s and value != 0.0:
                blocks.setdefault(tuple(int(b) for b in beta[:m]), []).append((perp, float(value) * alpha_scale[k]))
    sigma = np.zeros((q, q))
    for terms in blocks.values():
        perp_betas = np.array([p for p, _ in terms], dtype=np.int64)
        vals = np.array([v for _, v in terms])
        unfolded = coefficients_to_tensor(perp_betas, vals, q, s).reshape(q, -1)
        sigma += unfolded @ unfolded.T
    return 0.5 * (sigma + sigma.T), complement


def saddle_strengths(
    spectrum, *, ridge: float = 0.0, kernel_decay: float = 0.5, rtol: float = DEFAULT_RTOL
) -> list[np.ndarray]:
    r"""Effective squared coefficients of each saddle of :func:`~mimflow.theory.saddle_sequence`.

    For saddle ``j`` (learned subspace ``U`` = the bases of the earlier saddles, exponent ``s``) the
    eigenvalues of :math:`\Sigma` (module docstring, section 2) along its own directions, largest
    first: ``directions`` numbers. For a saddle with one direction this is exactly the
    :math:`\alpha_{eff}^2` of :math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)`; for a single-index link,
    :math:`c_s^2`. Ridge multiplies degree ``k`` (total degree) by :math:`q_k/(q_k+\mu)`.

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> [a.tolist() for a in saddle_strengths(multivariate_spectrum("2*h2(z1) + h3(z2)", 4))]
        [[4.0], [1.0]]
    """
    spec = as_multivariate(spectrum)
    if not np.all(np.isfinite(spec.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    scale = np.sqrt(_shrink_factors(np.arange(spec.degree + 1), ridge, kernel_decay))
    out = []
    U = np.zeros((spec.r, 0))
    for saddle in saddle_sequence(spec, rtol=rtol):
        sigma, complement = _saddle_sigma(spec, U, saddle.exponent, scale)
        coords = complement.T @ saddle.basis  # the saddle's directions in the complement basis
        values = np.linalg.eigvalsh(coords.T @ sigma @ coords)[::-1]
        out.append(np.maximum(values, 0.0))
        U = np.concatenate([U, saddle.basis], axis=1)
    return out


@lru_cache(maxsize=None)
def _initial_statistic(n: int, k: int, statistic: str) -> float:
    r"""``d`` times the mean/median of :math:`\lambda_{min}(Y Y^T)/d`, ``Y`` an ``n x k`` standard Gaussian.

    ``n = 1``: :math:`\chi^2_k` (mean ``k``, exact median). ``n > 1``: fixed-seed Monte Carlo.
    ``k < n``: 0 (the directions cannot all be held).
    """
    if k < n:
        return 0.0
    if n == 1:
        return float(k) if statistic == "mean" else float(stats.chi2.median(k))
    rng = np.random.default_rng(1729)
    Y = rng.standard_normal((WISHART_SAMPLES, n, k))
    lam = np.linalg.eigvalsh(Y @ np.swapaxes(Y, 1, 2))[:, 0]
    return float(np.mean(lam) if statistic == "mean" else np.median(lam))


def _planted_directions(spec: MultivariateSpectrum, rtol: float) -> list[tuple[int, int, float]]:
    """``(axis, s_i, alpha_i^2)`` per variable of a coordinate-separable spectrum; refuses others."""
    threshold = rtol * math.sqrt(max(float(spec.norm2), 0.0))
    lowest: dict[int, tuple[int, float]] = {}
    for beta, value in spec.nonzero(threshold):
        support = [i for i, b in enumerate(beta) if b]
        if not support:
            continue
        if len(support) > 1:
            raise MimflowError(
                f"planted predictions need a link separable in its coordinates (a sum of one-variable terms); "
                f"{spec.name or 'this link'!r} has the mixed term beta = {beta}: use algorithm='two-timescale'"
            )
        i, k = support[0], beta[support[0]]
        if i not in lowest or k < lowest[i][0]:
            lowest[i] = (k, value**2)
    return [(i, s, a2) for i, (s, a2) in sorted(lowest.items())]


def _parse_initial(initial, n_saddles: int):
    if isinstance(initial, str):
        if initial not in ("mean", "median"):
            raise MimflowError(f"initial must be 'median', 'mean' or a list of x0 per saddle, got {initial!r}")
        return initial
    x0 = np.asarray(initial, dtype=float).reshape(-1)
    if x0.shape != (n_saddles,):
        raise MimflowError(f"initial: expected {n_saddles} initial overlaps x0 (one per saddle), got {x0.shape[0]}")
    if np.any(np.isnan(x0)) or np.any(x0 < 0):
        raise MimflowError("initial overlaps x0 must be >= 0 (0 means: never escapes)")
    return x0


def predicted_escape_times(
    spectrum,
    d: float,
    *,
    algorithm: str = "two-timescale",
    student_rank: int | None = None,
    ridge: float = 0.0,
    kernel_decay: float = 0.5,
    threshold: float = DEFAULT_THRESHOLD,
    initial: str | Sequence[float] = "median",
    saturation: bool = True,
    rtol: float = DEFAULT_RTOL,
) -> list[float]:
    r"""Leading-order escape time of every saddle of :func:`~mimflow.theory.saddle_sequence`, from ``t = 0``.

    Two-timescale (module docstring, section 2): saddle ``j`` with exponent ``s``, ``n`` directions,
    ``u`` directions learned before it, lasts
    :math:`\tau_j = [E_{2s-1}(\theta) - E_{2s-1}(\sqrt{x_0})]/(s\,\alpha_{eff}^2)` (``saturation=True``:
    :math:`\dot x = 2s\alpha_{eff}^2x^s(1-x)`) or the power law
    :math:`(x_0^{1-s} - \theta^{2(1-s)})/(2s(s-1)\alpha_{eff}^2)`, :math:`\ln(\theta^2/x_0)/(2\alpha_{eff}^2)`
    (``saturation=False``), with :math:`\alpha_{eff}^2` the smallest of its :func:`saddle_strengths`
    and :math:`x_0 = \mathrm{median}(\chi^2_{p-u})/d` (``initial="median"``, predicts the *median*
    over Haar seeds) or :math:`(p-u)/d = E[G_{vv}]` (``"mean"``); ``n > 1``: the law of the smallest
    eigenvalue, section 2. Returns the cumulative sums :math:`\sum_{i\le j}\tau_i`.

    Planted (section 3): coordinate-separable links only; each direction in parallel with the planted
    exponent, :math:`\tau_i = [E_{s-1}(\theta) - E_{s-1}(m_0)]/(s\alpha_i^2)` (``~ d^{s/2-1}/(s(s-2)\alpha_i^2)``),
    :math:`m_0^2 = \mathrm{median}(\chi^2_1)/d` or ``1/d``; saddle ``j`` at the largest of its
    directions, made non-decreasing.

    This is leading order: for ``s >= 3`` the time is heavy-tailed in the random initial overlap
    (:math:`\tau \propto x_0^{1-s}`, :math:`x_0 \sim \chi^2/d`); compare with the *median* over seeds.

    Args:
        spectrum: :class:`~mimflow.hermite.MultivariateSpectrum` (or a 1-D spectrum).
        d: input dimension (``> 1``; enters only through :math:`x_0`).
        algorithm: ``"two-timescale"`` or ``"planted"``.
        student_rank: ``p`` (default ``r``; planted: must be ``r``). Saddles the student cannot hold
            (``p < u + n``) and all later ones are ``inf`` (not reached).
        ridge, kernel_decay: link-fit shrinkage (two-timescale, docs/math/finite-sample.md §1.8).
        threshold: escape threshold on singular values of ``M``.
        initial: ``"median"`` (default), ``"mean"``, or one :math:`x_0` per saddle (e.g. a seed's
            :func:`initial_saddle_overlaps`; ``0`` means never escapes). For the planted flow the
            explicit :math:`x_0` of a saddle is used for each of its directions.
        saturation: keep the factor :math:`1 - x` (default) or use the pure power law of the brief.
        rtol: coefficient threshold of :func:`~mimflow.theory.saddle_sequence`.

    Returns:
        One absolute time per saddle (``[]`` for a constant link).

    Example:
        >>> from mimflow.targets import multivariate_spectrum
        >>> spec = multivariate_spectrum("h2(z1) + h3(z2)", 4)
        >>> [round(t) for t in predicted_escape_times(spec, 1000, initial="mean", saturation=False)]
        [124, 83456]
    """
    algorithm = _check_algorithm(algorithm)
    _check_ridge_algorithm(algorithm, ridge)
    threshold = _check_threshold(threshold)
    check_finite("d", d)
    if float(d) <= 1:
        raise MimflowError(f"d must be > 1, got {d!r}")
    spec = as_multivariate(spectrum)
    if not np.all(np.isfinite(spec.values)):
        raise MimflowError("the link's Hermite coefficients are not finite (NaN/inf): check the link")
    r = spec.r
    p = r if student_rank is None else student_rank
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise MimflowError(f"student rank must be a positive integer, got {student_rank!r}")
    if algorithm == "planted" and p != r:
        raise MimflowError(f"the planted flow needs student rank = r = {r}, got {p}")
    saddles = saddle_sequence(spec, rtol=rtol)
    init = _parse_initial(initial, len(saddles))
    d = float(d)
    if algorithm == "planted":
        return _planted_times(spec, saddles, d, threshold, init, saturation, rtol)
    strengths = saddle_strengths(spec, ridge=ridge, kernel_decay=kernel_decay, rtol=rtol)
    out, clock, learned = [], 0.0, 0
    for j, (saddle, alpha2) in enumerate(zip(saddles, strengths)):
        n = saddle.directions
        if isinstance(init, str):
            x0 = _initial_statistic(n, p - learned, init) / d if learned + n <= p else 0.0
        else:
            x0 = float(init[j]) if learned + n <= p else 0.0
        a2 = float(alpha2[-1])
        tau = math.inf if (a2 <= 0 or x0 <= 0) else _direction_time(
            saddle.exponent, a2, math.sqrt(x0), threshold, "two-timescale", saturation)
        clock += tau
        out.append(float(clock))
        learned += n
    return out


def _planted_times(spec, saddles, d, threshold, init, saturation, rtol) -> list[float]:
    directions = {i: (s, a2) for i, s, a2 in _planted_directions(spec, rtol)}
    out, running = [], 0.0
    for j, saddle in enumerate(saddles):
        axes = [int(i) for i in np.nonzero(np.abs(saddle.basis).max(axis=1) > 1e-8)[0]]
        if isinstance(init, str):
            x0 = _initial_statistic(1, 1, init) / d
        else:
            x0 = float(init[j])
        times = []
        for i in axes:
            s, a2 = directions.get(i, (saddle.exponent, 0.0))
            ok = a2 > 0 and x0 > 0
            times.append(_direction_time(s, a2, math.sqrt(x0), threshold, "planted", saturation) if ok else math.inf)
        running = max(running, max(times, default=math.inf))
        out.append(float(running))
    return out


def initial_saddle_overlaps(spectrum, M0, *, algorithm: str = "two-timescale", rtol: float = DEFAULT_RTOL) -> np.ndarray:
    r"""Per-seed initial overlap :math:`x_0` of each saddle's directions, from the initial overlaps ``M0``.

    Two-timescale (module docstring, section 2): rotate the teacher side to the saddle bases,
    :math:`\tilde M = B^T M_0` (rows: the directions in saddle order); for saddle ``j`` with rows
    ``u..u+n-1``, :math:`Y` = those rows projected orthogonally to the span of the rows ``< u`` (the
    student directions spent on the earlier saddles), and :math:`x_0 = \lambda_{min}(Y Y^T)`
    (:math:`|Y|^2` for one direction); 0 when :math:`u + n > p`. Planted (coordinate-separable links):
    :math:`x_0 = M_{ii}(0)^2` (smallest over the saddle's axes), or 0 when the exponent of axis ``i``
    is odd and :math:`M_{ii}(0) < 0` (never escapes).

    Pass a row as ``initial=`` of :func:`predicted_escape_times` for a per-seed prediction.

    Args:
        spectrum: the link's spectrum.
        M0: ``(S, r, p)`` or ``(r, p)`` initial overlaps (e.g. :func:`mimflow.dynamics.haar_overlaps_batch`).

    Returns:
        ``(S, n_saddles)`` (or ``(n_saddles,)`` for one ``(r, p)`` input).
    """
    algorithm = _check_algorithm(algorithm)
    spec = as_multivariate(spectrum)
    M0 = np.asarray(M0, dtype=float)
    single = M0.ndim == 2
    if single:
        M0 = M0[None]
    if M0.ndim != 3 or M0.shape[1] != spec.r:
        raise MimflowError(f"M0 must have shape (seeds, {spec.r}, p), got {M0.shape}")
    check_finite("M0", M0)
    saddles = saddle_sequence(spec, rtol=rtol)
    S, r, p = M0.shape
    out = np.zeros((S, len(saddles)))
    if algorithm == "planted":
        directions = {i: s for i, s, _ in _planted_directions(spec, rtol)}
        for j, saddle in enumerate(saddles):
            axes = np.nonzero(np.abs(saddle.basis).max(axis=1) > 1e-8)[0]
            vals = []
            for i in axes:
                m = M0[:, i, i] if i < p else np.zeros(S)
                odd = directions.get(int(i), 2) % 2 == 1
                vals.append(np.where(odd & (m < 0), 0.0, m**2))
            out[:, j] = np.min(vals, axis=0) if vals else 0.0
        return out[0] if single else out
    B = np.concatenate([s.basis for s in saddles], axis=1) if saddles else np.zeros((r, 0))
    Mt = np.einsum("ia,sip->sap", B, M0)
    u = 0
    for j, saddle in enumerate(saddles):
        n = saddle.directions
        if u + n > p:
            out[:, j] = 0.0
        else:
            Y = Mt[:, u:u + n]  # (S, n, p)
            if u:
                Q = np.linalg.qr(np.swapaxes(Mt[:, :u], 1, 2))[0]  # (S, p, u): basis of the learned rows
                Y = Y - (Y @ Q) @ np.swapaxes(Q, 1, 2)
            out[:, j] = np.linalg.eigvalsh(Y @ np.swapaxes(Y, 1, 2))[:, 0]
        u += n
    return out[0] if single else out


__all__ = [
    "ALGORITHMS",
    "DEFAULT_THRESHOLD",
    "escape_time_slope",
    "fit_loglog_slope",
    "initial_saddle_overlaps",
    "leading_order_escape_time",
    "predicted_escape_times",
    "pure_link_escape_time",
    "saddle_strengths",
    "single_index_escape_time",
    "single_index_velocity",
]
