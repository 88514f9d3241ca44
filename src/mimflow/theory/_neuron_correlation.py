r"""Correlation-loss neurons (docs/math/neurons.md §2.1-2.2): the function ``g(m)`` and the paper's hypothesis.

Theory of the neurons without any ODE solver (independent of :mod:`mimflow.dynamics`), in modules
by topic: ``g`` and the hypothesis on :math:`\sigma_*` (here), the search phase
(:mod:`mimflow.theory._neuron_search`), the fixed points for orthogonal index vectors
(:mod:`mimflow.theory._neuron_fixed_points`) and the equal-angle threshold
(:mod:`mimflow.theory._beta_critical`).

Notation of docs/math/neurons.md §2.2: index vectors
:math:`v_1..v_k` with Gram matrix ``Q``, overlaps :math:`m = V^T w`, loss
:math:`L(w) = -\sum_j g(v_j^T w)` on the sphere, :math:`g(m) = \sum_p a_p m^p`,
:math:`a_p = c_p(\sigma_*)c_p(\sigma)` (:func:`~mimflow.theory.correlation_coefficients`).
"""

from __future__ import annotations

import math

import numpy as np

from mimflow._errors import MimflowError
from mimflow.targets import make_link

MAX_DEGREE = 40
TAIL_RTOL = 1e-10
COEFFICIENT_RTOL = 1e-12
"""Coefficients ``|a_p|`` below this times ``max |a|`` are treated as zero (exponents, parity)."""


# ----------------------------------------------------------------------------- g(m)


def correlation_coefficients(sigma_star, sigma=None, degree: int | None = None) -> np.ndarray:
    r"""``a_p = c_p(sigma*) c_p(sigma)``, ``p = 0..K``: :math:`g(m) = E[\sigma_*(u)\sigma(z)]_{corr=m} = \sum_p a_p m^p`.

    ``sigma`` defaults to ``sigma*``. Links are names or one-variable expressions (``make_link``).
    ``degree`` default: the smallest ``K <= 40`` at which both links' Parseval tails are below
    ``1e-10`` of their norms (polynomial links: their degree), else 40. docs/math/neurons.md §2.2.

    Example:
        >>> correlation_coefficients("h3(z) + 0.5*h4(z)").round(3).tolist()
        [0.0, 0.0, 0.0, 1.0, 0.25]
    """
    links = []
    for label, spec in (("sigma*", sigma_star), ("student sigma", sigma if sigma is not None else sigma_star)):
        link = make_link(spec)
        if link.r != 1:
            raise MimflowError(f"{label} = {spec!r} must be a function of one variable z, got r = {link.r}")
        links.append(link)
    if degree is not None:
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or not 1 <= degree <= MAX_DEGREE:
            raise MimflowError(f"degree must be an integer in 1..{MAX_DEGREE}, got {degree!r}")
        specs = [link.spectrum(int(degree)) for link in links]
    else:
        full = [link.spectrum(MAX_DEGREE) for link in links]
        K = MAX_DEGREE
        for cand in range(1, MAX_DEGREE + 1):
            if all(s.truncated(cand).tail <= TAIL_RTOL * max(s.norm2, 1e-300) for s in full):
                K = cand
                break
        specs = [s.truncated(K) for s in full]
    a = np.asarray(specs[0].coefficients, dtype=float) * np.asarray(specs[1].coefficients, dtype=float)
    if not np.all(np.isfinite(a)):
        raise MimflowError("the links' Hermite coefficients are not finite")
    if not np.any(np.abs(a[1:]) > 0):
        raise MimflowError("g(m) = E[sigma*(u) sigma(z)] does not depend on m: the student activation is "
                           "orthogonal to the target's non-constant part")
    return a


def _check_a(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise MimflowError("g must be given by finite coefficients a_0..a_K, K >= 1")
    return a


def g_derivatives(a, m) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(g(m), g'(m), g''(m))`` (vectorised in ``m``)."""
    a = _check_a(a)
    poly = np.polynomial.Polynomial(a)
    m = np.asarray(m, dtype=float)
    return poly(m), poly.deriv(1)(m), poly.deriv(2)(m)


def information_exponent_of_g(a) -> int:
    """:math:`p^*`: the smallest ``p >= 1`` with :math:`a_p \\ne 0`."""
    a = _check_a(a)
    scale = np.max(np.abs(a[1:]))
    nz = np.nonzero(np.abs(a[1:]) > COEFFICIENT_RTOL * scale)[0]
    return int(nz[0] + 1)


def parity_of_g(a) -> str:
    """``"even"``, ``"odd"`` or ``"mixed"``: which degrees ``p >= 1`` carry ``g``."""
    a = _check_a(a)
    scale = np.max(np.abs(a[1:]))
    degrees = np.nonzero(np.abs(a) > COEFFICIENT_RTOL * scale)[0]
    degrees = degrees[degrees >= 1]
    if np.all(degrees % 2 == 0):
        return "even"
    if np.all(degrees % 2 == 1):
        return "odd"
    return "mixed"


def _check_kn(k, n=None):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise MimflowError(f"k must be an integer >= 1, got {k!r}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise MimflowError(f"n (neurons) must be an integer >= 1, got {n!r}")


# ----------------------------------------------------------------------------- the paper's hypothesis

HYPOTHESIS = ("the hypothesis of Simsek-Bendjeddou-Hsu 2024 (sigma* with no He1 and no He2 component, "
              "docs/math/neurons.md §2.1)")
HYPOTHESIS_RTOL = 1e-8
"""A Hermite coefficient ``|c_p|`` below this times ``||sigma* - c_0||`` counts as zero (hypothesis check)."""
ADMISSIBLE_RELU = "relu(z) - 0.5*z - 0.28209479177387814*h2(z)"
"""relu minus its He1 and He2 components (:math:`c_1 = 1/2`, :math:`c_2 = 1/(2\\sqrt\\pi)`): inside the hypothesis, :math:`p^* = 4`."""


def hypothesis_violations(sigma_star) -> list[tuple[int, float]]:
    """``[(p, c_p)]`` for ``p`` in (1, 2) with :math:`c_p(\\sigma_*) \\ne 0`: empty when the paper's hypothesis holds."""
    spec = make_link(sigma_star).spectrum(4)
    c = np.asarray(spec.coefficients, dtype=float)
    scale = math.sqrt(max(float(spec.norm2) - c[0] ** 2, 1e-300))
    return [(p, float(c[p])) for p in (1, 2) if abs(c[p]) > HYPOTHESIS_RTOL * scale]


def check_hypothesis(sigma_star, what: str = "beta_c") -> None:
    """Raise a one-line :class:`MimflowError` naming the hypothesis and the fix when sigma* has a He1 or He2 part.

    Outside the hypothesis the paper's statements (search phase, fixed points, :math:`\\beta_c`) do not
    apply; e.g. relu (:math:`c_1, c_2 \\ne 0`) gives :math:`\\beta_c = 0` without meaning.
    """
    bad = hypothesis_violations(sigma_star)
    if not bad:
        return
    parts = " and ".join(f"a He{p} component (c_{p} = {c:.6g})" for p, c in bad)
    text = str(sigma_star)
    fix = f"({text})" if any(ch in text for ch in "+-") else (text if "(" in text else f"{text}(z)")
    for p, c in bad:
        term = "z" if p == 1 else "h2(z)"
        fix += f" - {c:.17g}*{term}" if c > 0 else f" + {-c:.17g}*{term}"
    raise MimflowError(f"{what} needs {HYPOTHESIS}, but sigma* = {text!r} has {parts}: "
                       f"subtract them, e.g. {fix!r}")


__all__ = [
    "ADMISSIBLE_RELU",
    "check_hypothesis",
    "correlation_coefficients",
    "g_derivatives",
    "hypothesis_violations",
    "information_exponent_of_g",
    "parity_of_g",
]
