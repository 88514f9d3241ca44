r"""Theory of correlation-loss neurons (docs/math/neurons.md §2), without any ODE solver.

Independent of :mod:`mimflow.dynamics` (imports only ``targets`` and the sibling escape-time
module), so the simulations can be checked against it. Notation of docs/math/neurons.md §2.2: index vectors
:math:`v_1..v_k` with Gram matrix ``Q``, overlaps :math:`m = V^T w`, loss
:math:`L(w) = -\sum_j g(v_j^T w)` on the sphere, :math:`g(m) = \sum_p a_p m^p`,
:math:`a_p = c_p(\sigma_*)c_p(\sigma)` (:func:`correlation_coefficients`).

* **Search phase** (docs/math/neurons.md §2.2): the largest overlap obeys :math:`\dot m \approx (1-m^2)g'(m)`, so a
  neuron starting at :math:`m_0` escapes (reaches 1/2) at :math:`\int_{m_0}^{1/2}dm/((1-m^2)g'(m))`
  (the planted single-index integral of :func:`~mimflow.theory.single_index_escape_time`), to leading
  order :math:`m_0^{-(p-2)}/(p(p-2)a_p)` (:math:`\Theta(d^{p/2-1})`) for :math:`p = p^* \ge 3` and
  :math:`\ln(1/m_0)/(2a_2)` (:math:`\Theta(\log d)`) for :math:`p^* = 2`
  (:func:`leading_order_escape_time` with ``algorithm="planted"``). With :math:`m(0) \approx N(0, I/d)`,
  the relevant :math:`m_0` of a neuron is :math:`q/\sqrt d`, ``q`` the largest of ``k`` standard
  normals (odd :math:`p^*`) or of their absolute values (even), so quantiles of the escape time of a
  neuron and of a network of ``n`` neurons follow from the law of ``q`` (:func:`search_time_prediction`).
* **Fixed points, orthogonal case** (docs/math/neurons.md §2.3): :func:`orthogonal_fixed_points` enumerates
  :math:`w = |S|^{-1/2}\sum_{j\in S}s_jv_j`, keeps the stationary ones and classifies them with the
  Riemannian Hessian (:func:`riemannian_hessian`);
  :func:`nearest_index_vector` is the rule "a neuron converges to the index vector of its largest
  initial overlap"; :func:`coverage_probability` is the coupon-collector formula.
* **Equal angles** (docs/math/neurons.md §2.4): :func:`beta_critical` finds :math:`\beta_c` by root finding on
  :math:`k\bar m g'(\bar m) = (1-\beta)g''(\bar m)`, :math:`\bar m = \sqrt{(1+(k-1)\beta)/k}`, for any
  ``g``; :func:`beta_critical_pure_hermite` is the closed form :math:`(p-2)/(k+p-2)`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from mimflow._errors import MimflowError
from mimflow.theory._escape_times import leading_order_escape_time, single_index_escape_time

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
    from mimflow.targets import make_link

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


# ----------------------------------------------------------------------------- Riemannian Hessian


def riemannian_hessian(a, Q, m) -> tuple[np.ndarray, float, int]:
    r"""Curvatures of :math:`L = -\sum_j g(v_j^Tw)` on the sphere at a point ``w`` in ``span(V)``.

    With ``V = U R`` (:math:`R^TR = Q`, ``U`` orthonormal, ``r = rank Q``) and ``w = U x``
    (:math:`m = R^Tx`, :math:`|x| = 1`), the Riemannian Hessian at a critical point is
    :math:`P(\nabla^2L - (w^T\nabla L)I)P` with :math:`\nabla L = -Vg'(m)`, :math:`\nabla^2L = -V\,\mathrm{diag}(g''(m))V^T`:

    * inside ``span(V)``, on :math:`x^\perp` (``r - 1`` directions): the eigenvalues of
      :math:`-R\,\mathrm{diag}(g''(m))R^T + \mu I` restricted to :math:`x^\perp`, :math:`\mu = m^Tg'(m)`;
    * on :math:`\mathrm{span}(V)^\perp` (``d - r`` directions): :math:`\mu`.

    Returns ``(inside eigenvalues (r-1,), mu, r)``. docs/math/neurons.md §2.3-2.4.
    """
    a = _check_a(a)
    Q = np.asarray(Q, dtype=float)
    m = np.asarray(m, dtype=float)
    lam, E = np.linalg.eigh(Q)
    keep = lam > 1e-12 * max(float(lam.max()), 1e-300)
    R = np.sqrt(lam[keep])[:, None] * E[:, keep].T
    x = np.linalg.lstsq(R.T, m, rcond=None)[0]
    norm = np.linalg.norm(x)
    if abs(norm - 1.0) > 1e-8:
        raise MimflowError(f"the point is not a unit vector in span(V) (|x| = {norm:.6g})")
    _, gp, gpp = g_derivatives(a, m)
    mu = float(m @ gp)
    H = -(R * gpp[None, :]) @ R.T + mu * np.eye(R.shape[0])
    # orthonormal basis of x-perp inside span(V)
    basis = np.linalg.svd(np.eye(R.shape[0]) - np.outer(x, x) / norm**2)[0][:, : R.shape[0] - 1]
    inside = np.linalg.eigvalsh(basis.T @ H @ basis) if basis.shape[1] else np.zeros(0)
    return inside, mu, int(R.shape[0])


def classify_curvatures(inside, mu, *, complement: bool = True, complement_dim: int = 1,
                        tol: float = 1e-9) -> tuple[str, int]:
    r"""``(kind, descent directions of the full Riemannian Hessian)``; kind is minimum / maximum / saddle / degenerate.

    ``inside``: curvatures on :math:`x^\perp` inside ``span(V)``; ``mu``: the curvature on each of the
    ``complement_dim = d - r`` directions orthogonal to ``span(V)`` (``complement``: whether they
    exist, i.e. ``d > r``). The count is the number of negative eigenvalues of the whole tangent Hessian
    on :math:`S^{d-1}`: ``#{inside < 0} + (d - r)[mu < 0]`` (docs/math/neurons.md §2.3), so a saddle always
    has at least one.
    """
    inside = np.asarray(inside, dtype=float)
    curv = list(inside) + ([mu] if complement else [])
    scale = max([abs(c) for c in curv] + [1e-300])
    extra = int(complement_dim) if complement else 0
    neg = int(np.sum(inside < -tol * scale)) + (extra if complement and mu < -tol * scale else 0)
    if any(abs(c) <= tol * scale for c in curv):
        return "degenerate", neg
    if all(c > 0 for c in curv):
        return "minimum", neg
    if all(c < 0 for c in curv):
        return "maximum", neg
    return "saddle", neg


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point :math:`w = |S|^{-1/2}\\sum_{j\\in S}s_jv_j` of one neuron (orthogonal index vectors)."""

    support: tuple[int, ...]
    signs: tuple[int, ...]
    m: np.ndarray
    inside_curvatures: np.ndarray
    complement_curvature: float
    kind: str
    descent_directions: int
    """Negative eigenvalues of the full Riemannian Hessian on :math:`S^{d-1}`: those inside span(V) plus
    the ``d - k`` directions orthogonal to it when ``complement_curvature < 0``."""
    d: int
    """The dimension the count refers to."""


def orthogonal_fixed_points(a, k: int, *, d: int | None = None, max_k: int = 10) -> list[FixedPoint]:
    r"""Enumerate and classify the fixed points :math:`|S|^{-1/2}\sum_{j\in S}s_jv_j` for ``Q = I``.

    Every non-empty subset ``S`` and sign vector ``s`` is a candidate (:math:`3^k - 1` of them); the
    stationary ones (Riemannian gradient :math:`g'(m) - m\,m^Tg'(m)` zero to ``1e-10``) are kept
    and classified by :func:`riemannian_hessian` on the whole sphere :math:`S^{d-1}` (``d`` default
    ``k + 1``, the smallest dimension with a direction orthogonal to ``span(V)``): the curvature on the
    ``d - k`` directions orthogonal to ``span(V)`` is :math:`\mu = m^Tg'(m)`, so e.g. for ``h3`` the point
    :math:`-(v_1+v_2+v_3)/\sqrt3` (positive curvature inside ``span(V)``, :math:`\mu = -\sqrt3`) is a
    saddle with ``d - k`` descent directions. For a pure :math:`h_p` (all signs equal when ``p``
    is odd) these are all fixed points in ``span(V)`` (docs/math/neurons.md §2.3); the degenerate set
    :math:`w \perp V` is not listed. For ``g = a_p m^p``, ``|S| = s``, all signs ``+``: curvature
    :math:`-p(p-2)a_ps^{1-p/2}` on ``s - 1`` directions and :math:`+pa_ps^{1-p/2}` on the others.
    """
    a = _check_a(a)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise MimflowError(f"k must be a positive integer, got {k!r}")
    if k > max_k:
        raise MimflowError(f"k = {k} gives 3^k - 1 candidates: enumerate for k <= {max_k}")
    d = k + 1 if d is None else d
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < k:
        raise MimflowError(f"d must be an integer >= k = {k}, got {d!r}")
    Q = np.eye(k)
    out = []
    for size in range(1, k + 1):
        for support in itertools.combinations(range(k), size):
            for signs in itertools.product((1, -1), repeat=size):
                m = np.zeros(k)
                m[list(support)] = np.asarray(signs, dtype=float) / math.sqrt(size)
                _, gp, _ = g_derivatives(a, m)
                grad = gp - m * (m @ gp)
                if np.max(np.abs(grad)) > 1e-10 * max(1.0, np.max(np.abs(gp))):
                    continue
                inside, mu, _ = riemannian_hessian(a, Q, m)
                kind, neg = classify_curvatures(inside, mu, complement=d > k, complement_dim=d - k)
                out.append(FixedPoint(support, tuple(int(s) for s in signs), m, inside, mu, kind, neg, int(d)))
    return out


# ----------------------------------------------------------------------------- which index vector


def nearest_index_vector(a, m0) -> tuple[np.ndarray, np.ndarray]:
    r"""The index vector a neuron reaches, predicted from its initial overlaps (``Q = I``, docs/math/neurons.md §2.3).

    Even ``g``: :math:`\mathrm{sign}(m_{j^*}(0))v_{j^*}`, :math:`j^* = \arg\max_j|m_j(0)|`. Odd ``g``:
    :math:`v_{j^*}`, :math:`j^* = \arg\max_j m_j(0)`, if that maximum is positive, else none (index
    -1). Derived for links of one parity; mixed-parity ``g`` raises.

    Returns ``(index (...,), sign (...,))`` for ``m0`` of shape ``(..., k)``.
    """
    parity = parity_of_g(a)
    m0 = np.asarray(m0, dtype=float)
    if parity == "mixed":
        raise MimflowError("the nearest-index-vector rule (docs/math/neurons.md §2.3) is derived for g of one parity "
                           "(only even or only odd Hermite degrees)")
    if parity == "even":
        j = np.argmax(np.abs(m0), axis=-1)
        sign = np.sign(np.take_along_axis(m0, j[..., None], axis=-1)[..., 0]).astype(int)
        return j, sign
    j = np.argmax(m0, axis=-1)
    top = np.take_along_axis(m0, j[..., None], axis=-1)[..., 0]
    return np.where(top > 0, j, -1), np.where(top > 0, 1, 0)


def success_probability(a, k: int) -> float:
    """:math:`p_s`: probability that one neuron recovers some index vector (1 even, :math:`1 - 2^{-k}` odd)."""
    parity = parity_of_g(a)
    if parity == "mixed":
        raise MimflowError("p_s is derived for g of one parity (docs/math/neurons.md §2.3)")
    return 1.0 if parity == "even" else 1.0 - 2.0 ** (-k)


def _check_kn(k, n=None):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise MimflowError(f"k must be an integer >= 1, got {k!r}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise MimflowError(f"n (neurons) must be an integer >= 1, got {n!r}")


def coverage_probability(k: int, n: int, p_s: float = 1.0) -> float:
    r""":math:`P(\text{all } k \text{ found with } n \text{ neurons}) = \sum_{i=0}^k(-1)^i\binom{k}{i}(1 - ip_s/k)^n` (docs/math/neurons.md §2.3).

    Each neuron independently recovers a uniformly random index vector with probability ``p_s``
    (inclusion-exclusion over the set of index vectors never found).

    Example:
        >>> round(coverage_probability(2, 3), 6)  # 1 - 2 (1/2)^3
        0.75
    """
    _check_kn(k, n)
    if not 0.0 <= p_s <= 1.0:
        raise MimflowError(f"p_s must be in [0, 1], got {p_s}")
    i = np.arange(k + 1)
    terms = (-1.0) ** i * special.comb(k, i) * np.clip(1.0 - i * p_s / k, 0.0, None) ** n
    return float(min(max(np.sum(terms), 0.0), 1.0))


def expected_neurons_needed(k: int, p_s: float = 1.0) -> float:
    """:math:`E[n] = kH_k/p_s \\approx k\\ln k` (coupon collector, docs/math/neurons.md §2.3)."""
    _check_kn(k)
    return float(k * np.sum(1.0 / np.arange(1, k + 1)) / p_s)


# ----------------------------------------------------------------------------- the paper's hypothesis

HYPOTHESIS = ("the hypothesis of Simsek-Bendjeddou-Hsu 2024 (sigma* with no He1 and no He2 component, "
              "docs/math/neurons.md §2.1)")
HYPOTHESIS_RTOL = 1e-8
"""A Hermite coefficient ``|c_p|`` below this times ``||sigma* - c_0||`` counts as zero (hypothesis check)."""
ADMISSIBLE_RELU = "relu(z) - 0.5*z - 0.28209479177387814*h2(z)"
"""relu minus its He1 and He2 components (:math:`c_1 = 1/2`, :math:`c_2 = 1/(2\\sqrt\\pi)`): inside the hypothesis, :math:`p^* = 4`."""


def hypothesis_violations(sigma_star) -> list[tuple[int, float]]:
    """``[(p, c_p)]`` for ``p`` in (1, 2) with :math:`c_p(\\sigma_*) \\ne 0`: empty when the paper's hypothesis holds."""
    from mimflow.targets import make_link

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


# ----------------------------------------------------------------------------- equal angles


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


# ----------------------------------------------------------------------------- search phase


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
    :func:`mimflow.theory._neuron_search.search_time_quantiles` uses the exact closed form for a quadratic ``g``.
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
