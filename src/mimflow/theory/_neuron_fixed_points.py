r"""Fixed points of one correlation-loss neuron for orthogonal index vectors (docs/math/neurons.md §2.3).

:func:`orthogonal_fixed_points` enumerates :math:`w = |S|^{-1/2}\sum_{j\in S}s_jv_j`, keeps the
stationary ones and classifies them with the Riemannian Hessian (:func:`riemannian_hessian`);
:func:`nearest_index_vector` is the rule "a neuron converges to the index vector of its largest
initial overlap"; :func:`coverage_probability` is the coupon-collector formula.

Notation of docs/math/neurons.md §2.2: index vectors
:math:`v_1..v_k` with Gram matrix ``Q``, overlaps :math:`m = V^T w`, loss
:math:`L(w) = -\sum_j g(v_j^T w)` on the sphere, :math:`g(m) = \sum_p a_p m^p`,
:math:`a_p = c_p(\sigma_*)c_p(\sigma)` (:func:`~mimflow.theory.correlation_coefficients`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from mimflow._errors import MimflowError
from mimflow.theory._neuron_correlation import _check_a, _check_kn, g_derivatives, parity_of_g


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


__all__ = [
    "FixedPoint",
    "classify_curvatures",
    "coverage_probability",
    "expected_neurons_needed",
    "nearest_index_vector",
    "orthogonal_fixed_points",
    "riemannian_hessian",
    "success_probability",
]
