r"""The generative exponent of a one-variable link, from the conditional Hermite energies of its label.

Unlike the information exponent it depends on the law of the label, not only on the Hermite
coefficients, so it needs the link itself (docs/math/hermite.md §5.2).
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from scipy.special import erfc

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.hermite import check_degree, hermite_normalized, integration_half_width, piecewise_gaussian_rule
from mimflow.targets import make_link
from mimflow.theory._hermite_support import _check_rtol

GENERATIVE_RTOL = 1e-6
"""Default threshold of :func:`generative_exponent`: ``E[zeta_k(y)^2] > GENERATIVE_RTOL**2 = 1e-12``
(relative to ``E[h_k(z)^2] = 1``). Measured noise floor on exact zeros: <= 5e-23 (see
:func:`conditional_hermite_energies`)."""

# ---------------------------------------------------------------------- generative exponent


def conditional_hermite_energies(link_or_fn, k_max: int = 12, *, bins: int = 512) -> np.ndarray:
    r"""Lower bounds of :math:`E[\zeta_k(y)^2]`, :math:`\zeta_k(y) = E[h_k(z)\mid y]`, for ``y = f(z)``.

    For any partition :math:`\{B\}` of the label space,

    .. math::

        \sum_B \frac{E[h_k(z)\,1\{y\in B\}]^2}{P(y\in B)} = E\big[E[h_k(z)\mid y \in B]^2\big]
        \;\le\; E[\zeta_k(y)^2] \;\le\; E[h_k^2] = 1

    (Jensen / projection onto a coarser sigma-algebra), with equality in the limit of fine partitions,
    and the left side is *exactly* 0 for every partition when :math:`\zeta_k = 0`. We use ``bins``
    label bins whose edges are the label quantiles at levels :math:`\Phi(t_j)`, ``t_j`` equally spaced
    in ``[-T, T]``, :math:`T = \sqrt{4K+2} + 4` (for a monotone link: bins of equal width ``2T/bins``
    in ``z``, reaching past the oscillation region of :math:`h_K`), and compute every
    :math:`E[h_k 1\{y\in B\}]` to quadrature accuracy:

    1. a fine piecewise Gauss-Legendre grid in ``z`` (panels ~0.1 wide, 32 nodes each, split at the
       link's breakpoints) locates the label quantiles; each bin edge is placed half-way between two
       consecutive *distinct* label values, so ties (atoms: ``sign``, the zero of ``relu``, flat
       pieces) never straddle an edge;
    2. the breakpoints and the local extrema of ``f`` (golden section) are added to the nodes, since
       near an extremum or a kink an edge is crossed twice within one node spacing; then every
       crossing of an edge between two consecutive points is located by bisection (to ~1e-16);
    3. the integrals are recomputed on a piecewise rule split at the breakpoints *and* all crossings,
       so each panel lies in one bin and the integrands are smooth on it.

    Crossings closer together than the grid spacing (~3e-3) that do not straddle a detected extremum
    (oscillations faster than the grid) are missed.

    Args:
        link_or_fn: a one-variable :class:`~mimflow.targets.Link`, name, expression, or callable
            (vectorised; declare jumps with ``make_link(fn, breakpoints=...)`` for best accuracy).
        k_max: highest degree.
        bins: number of label bins (more: tighter lower bounds; the exact zeros stay zero).

    Returns:
        ``(k_max + 1,)`` array, entry ``k`` a lower bound of :math:`E[\zeta_k(y)^2]` (entry 0 is 1).
        Measured noise floor of exact zeros: <= 3e-32 for ``he2, z**2, abs, cos, sign`` (odd/even
        ``k``) and constants, 4e-26 for ``he4`` (odd ``k``), 5e-23 for ``|z| exp(-z^2/2)`` at
        ``k = 1, 2, 3``. Monotone links (:math:`E[\zeta_k^2] = 1`) give ``1 - 1.6e-4`` at ``k = 1`` and
        ``1 - 1.9e-3`` at ``k = 12`` with the defaults (the within-bin variance, ``~ (2T/bins)^2/12``
        at ``k = 1``). Cost: ~0.5-2 s per link, mostly JAX compilation.

    Example:
        >>> round(float(conditional_hermite_energies("sign", 3)[1]), 6)  # = c_1(sign)^2 = 2/pi
        0.63662

    References:
        Damian, Pillaud-Vivien, Lee, Bruna, "Computational-statistical gaps in Gaussian single-index
        models", COLT 2024 (definition of :math:`\zeta_k` and of the generative exponent; docs/math/hermite.md §5.2).
    """
    link = make_link(link_or_fn)
    if link.r != 1:
        raise MimflowError(
            f"the generative exponent is implemented for one-variable links; link {link.name!r} has r = {link.r}"
        )
    K = check_degree(k_max)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or not 1 <= bins <= 100_000:
        raise MimflowError(f"bins must be an integer between 1 and 100000, got {bins!r}")
    half = integration_half_width(K)
    breakpoints = tuple(link.breakpoints(0, half))

    def evaluate(z: np.ndarray) -> np.ndarray:
        y = _padded(lambda x: link(x[:, None]), z)
        if not np.all(np.isfinite(y)):
            bad = z[~np.isfinite(y)][0]
            raise MimflowError(f"link {link.name!r} is not finite at z = {bad:.4g}: it must be finite on the real line")
        return y

    # 1. fine grid (panel width ~0.1, 32 nodes each) to find the label quantiles and bracket crossings
    z0, w0 = piecewise_gaussian_rule(breakpoints, k_max=1800, half_width=half)
    y0 = evaluate(z0)
    edges = _quantile_edges(y0, w0, int(bins), math.sqrt(4.0 * K + 2.0) + 4.0)
    # 2. the breakpoints and the local extrema join the nodes (near an extremum, or a kink between
    #    two nodes, an edge is crossed twice within one node spacing); then locate the crossings of
    #    the edges between consecutive points
    zx, yx = _merge_points(z0, y0, np.array([b for b in breakpoints if -half < b < half]), evaluate)
    extrema = _local_extrema(zx, yx, evaluate)
    zx, yx = _merge_points(zx, yx, extrema, evaluate)
    roots = np.concatenate([extrema, _edge_crossings(zx, yx, edges, evaluate)])
    # 3. exact-per-bin quadrature
    z, w = piecewise_gaussian_rule(np.concatenate([np.asarray(breakpoints, dtype=float), roots]),
                                   k_max=max(K, 8), half_width=half)
    y = evaluate(z)
    labels = np.searchsorted(edges, y, side="right")
    n_bins = len(edges) + 1
    h = _padded(lambda x: hermite_normalized(x, K), z)
    mass = np.bincount(labels, weights=w, minlength=n_bins)
    moments = np.stack([np.bincount(labels, weights=w * h[:, k], minlength=n_bins) for k in range(K + 1)], axis=1)
    occupied = mass > 0
    energies = np.sum(moments[occupied] ** 2 / mass[occupied, None], axis=0)
    energies[0] = 1.0
    return energies


def _padded(fn, z: np.ndarray) -> np.ndarray:
    """``fn`` on ``z`` padded to a power-of-two length (>= 1024) so JAX compiles few shapes."""
    n = len(z)
    size = max(1024, 1 << (n - 1).bit_length())
    padded = np.concatenate([z, np.full(size - n, z[0] if n else 0.0)])
    return np.asarray(fn(jnp.asarray(padded)), dtype=np.float64)[:n]


def _quantile_edges(y: np.ndarray, w: np.ndarray, bins: int, t_max: float) -> np.ndarray:
    """Label-bin edges at the quantile levels ``Phi(t_j)``, ``t_j`` equally spaced in ``[-t_max, t_max]``.

    Each edge lies half-way between two consecutive *distinct* label values, so ties stay together.
    Levels below 1/2 are located on the lower cumulative mass and levels above 1/2 on the upper one,
    so that tail levels such as ``1 - 1e-20`` are resolved.
    """
    values, inverse = np.unique(y, return_inverse=True)
    mass = np.bincount(inverse, weights=w)
    lower = np.cumsum(mass)  # mass at or below values[i]
    upper = np.append(np.cumsum(mass[::-1])[::-1][1:], 0.0)  # mass strictly above values[i]
    levels = np.linspace(-t_max, t_max, bins + 1)[1:-1]
    tail = 0.5 * erfc(np.abs(levels) / math.sqrt(2.0)) * lower[-1]
    left = np.searchsorted(lower, tail[levels <= 0], side="left")  # first i with lower[i] >= level
    right = np.searchsorted(-upper, -tail[levels > 0], side="left")  # first i with upper[i] <= tail level
    idx = np.unique(np.concatenate([left, right]))
    idx = idx[idx < len(values) - 1]
    return np.unique(0.5 * (values[idx] + values[idx + 1]))


def _merge_points(z: np.ndarray, y: np.ndarray, extra: np.ndarray, evaluate) -> tuple[np.ndarray, np.ndarray]:
    """Add the points ``extra`` (and their labels) to the sorted points ``z``."""
    if len(extra) == 0:
        return z, y
    zz = np.concatenate([z, extra])
    order = np.argsort(zz, kind="stable")
    return zz[order], np.concatenate([y, evaluate(extra)])[order]


def _local_extrema(z: np.ndarray, y: np.ndarray, evaluate, iterations: int = 80) -> np.ndarray:
    """Local extrema of ``f`` between grid points, by vectorised golden-section search.

    Detected where the slope between consecutive points changes sign, directly or across one pair of
    equal values (a symmetric extremum between two nodes). Plateaus longer than that are atoms, not
    extrema: their ends are crossings, found by :func:`_edge_crossings`.
    """
    slope = np.sign(np.diff(y))
    i = np.nonzero(slope[:-1] * slope[1:] < 0)[0]  # point i + 1 is a strict local extremum
    j = np.nonzero((slope[1:-1] == 0) & (slope[:-2] * slope[2:] < 0))[0]  # y[j+1] == y[j+2]
    lo = np.concatenate([z[i], z[j]])
    hi = np.concatenate([z[i + 2], z[j + 3]])
    maximum = np.concatenate([slope[i] > 0, slope[j] > 0])
    if len(lo) == 0:
        return np.zeros(0)
    g = 0.5 * (math.sqrt(5.0) - 1.0)
    for _ in range(iterations):
        a, b = hi - g * (hi - lo), lo + g * (hi - lo)
        fa, fb = evaluate(a), evaluate(b)
        keep_left = np.where(maximum, fa >= fb, fa <= fb)  # the extremum is in [lo, b]
        lo, hi = np.where(keep_left, lo, a), np.where(keep_left, b, hi)
    return 0.5 * (lo + hi)


def _edge_crossings(z: np.ndarray, y: np.ndarray, edges: np.ndarray, evaluate, iterations: int = 64) -> np.ndarray:
    """Points where ``f`` crosses an edge between two consecutive nodes, by vectorised bisection."""
    if len(edges) == 0:
        return np.zeros(0)
    side = np.searchsorted(edges, y, side="right")  # bin of each node
    pairs = np.nonzero(side[:-1] != side[1:])[0]
    lo_list, hi_list, edge_list = [], [], []
    for i in pairs:
        a, b = sorted((int(side[i]), int(side[i + 1])))
        for j in range(a, b):  # every edge strictly between the two bins
            lo_list.append(z[i])
            hi_list.append(z[i + 1])
            edge_list.append(edges[j])
    if not lo_list:
        return np.zeros(0)
    lo, hi, e = np.array(lo_list), np.array(hi_list), np.array(edge_list)
    above_lo = evaluate(lo) >= e
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        move_lo = (evaluate(mid) >= e) == above_lo
        lo = np.where(move_lo, mid, lo)
        hi = np.where(move_lo, hi, mid)
    return np.unique(0.5 * (lo + hi))


def generative_exponent(
    link_or_fn, *, k_max: int = 12, rtol: float = GENERATIVE_RTOL, bins: int = 512
) -> int | None:
    r"""Generative exponent of a one-variable link ``y = f(z)`` (deterministic label).

    .. math::

        k^* = \min\{k \ge 1 : E[\zeta_k(y)^2] > \mathrm{rtol}^2\},\qquad \zeta_k(y) = E[h_k(z)\mid y],

    with :math:`E[\zeta_k(y)^2]` bounded from below by :func:`conditional_hermite_energies`. The
    threshold is relative to :math:`E[h_k(z)^2] = 1`; default ``rtol = 1e-6`` (threshold 1e-12),
    far above the measured noise floor of exact zeros (<= 5e-23) and below what a coefficient at the
    information-exponent threshold guarantees: :math:`E[\zeta_k^2] \ge c_k^2/\mathrm{Var}(f)`
    (project :math:`h_k` on :math:`f(z)-E f`).

    Equivalently :math:`k^*` is the smallest information exponent of :math:`T(y)` over label
    transformations :math:`T \in L^2(P_y)`; :math:`k^* \le \mathrm{IE}`. Polynomial links have
    :math:`k^* \le 2` (1 unless the link is even, 2 for even non-constant links). An example with
    :math:`k^* = 4`: ``|z| exp(-z^2/2)`` (level sets :math:`\{\pm a, \pm b\}` with
    :math:`a\phi(a) = b\phi(b)`, conditional weights :math:`\propto 1/|1-t^2|`, hence
    :math:`E[z^2\mid y] = 1` and :math:`E[He_4(z)\mid y] = (1-a^2)(b^2-1) - 2`; derived here and checked
    in the tests against this formula). Its information exponent is also 4: :math:`c_k = E[\zeta_k(y) f]`
    vanishes wherever :math:`\zeta_k` does.

    Args:
        link_or_fn: a one-variable Link, name, expression or callable.
        k_max: largest degree searched.
        rtol: threshold on :math:`\sqrt{E[\zeta_k^2]}`.
        bins: label bins (see :func:`conditional_hermite_energies`).

    Returns:
        :math:`k^*`, or ``None`` when no ``k <= k_max`` passes: the link is constant (its exponent is
        infinite) or :math:`k^* > k_{max}`; the two are told apart by the variance of the label
        (:func:`exponent_status` of its spectrum).

    Example:
        >>> generative_exponent("relu"), generative_exponent("he4"), generative_exponent("2")
        (1, 2, None)

    References:
        Damian, Pillaud-Vivien, Lee, Bruna, "Computational-statistical gaps in Gaussian single-index
        models", COLT 2024 (docs/math/hermite.md §5.2).
    """
    rtol = _check_rtol(rtol)
    energies = conditional_hermite_energies(link_or_fn, k_max, bins=bins)
    passing = np.nonzero(energies[1:] > rtol**2)[0]
    return int(passing[0]) + 1 if len(passing) else None


__all__ = ["GENERATIVE_RTOL", "conditional_hermite_energies", "generative_exponent"]
