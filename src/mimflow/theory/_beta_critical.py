r"""The equal-angle threshold :math:`\beta_c` of correlation-loss neurons (docs/math/neurons.md §2.4).

For ``k`` index vectors at equal angles (:math:`Q = (1-\beta)I + \beta\,11^T`), :func:`beta_critical`
finds :math:`\beta_c` by root finding on :math:`k\bar m g'(\bar m) = (1-\beta)g''(\bar m)`,
:math:`\bar m = \sqrt{(1+(k-1)\beta)/k}`, for any ``g``; :func:`beta_critical_pure_hermite` is the
closed form :math:`(p-2)/(k+p-2)`.

Notation of docs/math/neurons.md §2.2: index vectors
:math:`v_1..v_k` with Gram matrix ``Q``, overlaps :math:`m = V^T w`, loss
:math:`L(w) = -\sum_j g(v_j^T w)` on the sphere, :math:`g(m) = \sum_p a_p m^p`,
:math:`a_p = c_p(\sigma_*)c_p(\sigma)` (:func:`~mimflow.theory.correlation_coefficients`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mimflow._errors import MimflowError
from mimflow.theory._neuron_correlation import COEFFICIENT_RTOL, HYPOTHESIS, _check_a, _check_kn, g_derivatives


def average_point_curvatures(a, k: int, beta: float) -> tuple[float, float, float]:
    r"""``(m_bar, perp, inside)`` at the average :math:`\bar w`: :math:`\bar m = \sqrt{(1+(k-1)\beta)/k}`,
    ``perp`` :math:`= k\bar mg'(\bar m)` (on :math:`\mathrm{span}(V)^\perp`), ``inside``
    :math:`= k\bar mg'(\bar m) - (1-\beta)g''(\bar m)` (``k - 1`` directions). docs/math/neurons.md §2.4."""
    mbar = math.sqrt((1.0 + (k - 1) * beta) / k)
    _, gp, gpp = g_derivatives(a, mbar)
    perp = k * mbar * float(gp)
    return mbar, perp, perp - (1.0 - beta) * float(gpp)


@dataclass(frozen=True)
class BetaCritical:
    """Result of :func:`beta_critical`."""

    beta_c: float
    """Largest sign change of the inside curvature: above it the average is a minimum (up to beta -> 1)."""
    crossings: tuple[float, ...]
    """Every beta in (0, 1) where the inside curvature changes sign (several for some mixed links)."""
    k: int
    closed_form: float | None
    """:math:`(p-2)/(k+p-2)` when ``g`` is a single power :math:`a_pm^p`, else ``None``."""


def beta_critical_pure_hermite(p: int, k: int) -> float:
    """:math:`\\beta_c = (p-2)/(k+p-2)` for :math:`g = a\\,m^p` (docs/math/neurons.md §2.4)."""
    _check_kn(k)
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 2:
        raise MimflowError(f"p must be an integer >= 2, got {p!r}")
    return (p - 2) / (k + p - 2)


def beta_critical(a, k: int, *, grid: int = 4001) -> BetaCritical:
    r"""The equal-angle threshold :math:`\beta_c` for any ``g``, by root finding (docs/math/neurons.md §2.4).

    :math:`h(\beta) = k\bar mg'(\bar m) - (1-\beta)g''(\bar m)` is evaluated on a grid of ``grid``
    points in ``[0, 1)``, every sign change is refined with Brent's method, and :math:`\beta_c` is the
    last one (0 if ``h > 0`` on the whole interval: the average is then a minimum for every beta).
    Raises if ``h <= 0`` just below ``beta = 1`` (no threshold in [0, 1)), and when ``g`` has a degree-1
    or degree-2 term: the threshold is a statement under the paper's hypothesis (:func:`check_hypothesis`).
    """
    a = _check_a(a)
    _check_kn(k)
    scale = np.max(np.abs(a[1:]))
    bad = [p for p in (1, 2) if p < a.size and abs(a[p]) > COEFFICIENT_RTOL * scale]
    if bad:
        raise MimflowError("beta_c needs " + HYPOTHESIS + ", but g has a "
                           + " and a ".join(f"He{p} term (a_{p} = {a[p]:.6g})" for p in bad)
                           + ": remove the He1/He2 components from the links")
    h = np.vectorize(lambda b: average_point_curvatures(a, k, float(b))[2])
    betas = np.linspace(0.0, 1.0 - 1e-9, grid)
    values = h(betas)
    if values[-1] <= 0:
        raise MimflowError("the average point is not a minimum even as beta -> 1 (k m g'(m) <= 0): "
                           "no threshold beta_c in [0, 1) for this link pair")
    crossings = []
    for i in np.nonzero(np.sign(values[:-1]) != np.sign(values[1:]))[0]:
        lo, hi = betas[i], betas[i + 1]
        if values[i] == 0.0:
            crossings.append(float(lo))
            continue
        crossings.append(float(optimize.brentq(lambda b: float(h(b)), lo, hi, xtol=1e-15, rtol=1e-15)))
    positive_tail = [c for c in crossings]
    beta_c = positive_tail[-1] if positive_tail else 0.0
    if values[0] > 0 and not crossings:
        beta_c = 0.0
    scale = np.max(np.abs(a[1:]))
    support = np.nonzero(np.abs(a[1:]) > COEFFICIENT_RTOL * scale)[0] + 1
    closed = beta_critical_pure_hermite(int(support[0]), k) if len(support) == 1 and support[0] >= 2 else None
    return BetaCritical(float(beta_c), tuple(crossings), int(k), closed)


__all__ = ["BetaCritical", "average_point_curvatures", "beta_critical", "beta_critical_pure_hermite"]
