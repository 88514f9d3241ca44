r"""Leading order in ``d`` of the escape time of one direction (docs/math/saddles.md §1.6) and the predicted slopes.

With :math:`m_0 = d^{-1/2}` the expansion in ``d`` of the exact pure-link escape time
(:func:`~mimflow.theory.pure_link_escape_time`, module docstring of
:mod:`mimflow.theory._single_index_escape`; conventions there: threshold :math:`\theta` on a singular
value, default 1/2) gives the table of docs/math/saddles.md §1.6 as the leading term
(:func:`leading_order_escape_time`) and the relative size of the next one,
:math:`t_{exact}/t_{table} - 1` (used for test tolerances):

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

Slopes
------
:func:`escape_time_slope` gives the predicted log-log slope of escape time against ``d``:
``s - 1`` (two-timescale), ``s/2 - 1`` (planted), and 0 for the logarithmic rows (two-timescale
``s = 1``, planted ``s = 2``) and the ``O(1)`` planted ``s = 1``. At finite ``d`` the log rows have
:math:`d\ln t/d\ln d = 1/(\ln d + \ln(\theta^2/(1-\theta^2))) = 1/(\ln d - \ln 3)`, not 0: below
0.1 only for :math:`d > 3e^{10} \approx 6.6\times10^4`. :func:`~mimflow.theory.fit_loglog_slope` fits the slope.

References:
    Bietti, Bruna, Pillaud-Vivien, "On learning Gaussian multi-index models with gradient flow",
    arXiv:2310.19793 (Thm 1.4/3.25, Remark 3.13, Thm 4.1; docs/math/grassmannian-flow.md §1.4, docs/math/saddles.md §1.6,
    docs/math/planted.md §1.7, docs/math/finite-sample.md §1.8).
"""

from __future__ import annotations

import math

from mimflow.theory._single_index_escape import (
    DEFAULT_THRESHOLD,
    _check_algorithm,
    _check_alpha2,
    _check_exponent,
    _check_threshold,
    _direction_time,
    _initial_m0,
)


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


__all__ = ["escape_time_slope", "leading_order_escape_time"]
