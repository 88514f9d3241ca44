r"""An independent check of :math:`\beta_c` (docs/math/neurons.md §2.4) for the ``beta-c`` reproduction.

:func:`mimflow.theory.beta_critical` finds :math:`\beta_c` by root finding on the closed-form inside
curvature :math:`k\bar mg'(\bar m) - (1-\beta)g''(\bar m)` with ``g`` from the Hermite coefficients. This
module measures it without either: ``g`` by a two-dimensional Gauss-Hermite rule applied to the link
itself (:math:`g(m) = E[\sigma(u)\sigma(mu + \sqrt{1-m^2}z)]`), the population loss
:math:`L(w) = -\sum_jg(v_j^Tw)` on the sphere, its second derivative at the average point
:math:`\bar w` along the geodesic towards :math:`v_1 - v_2` by central differences, and the last sign change in
``beta`` by Brent's method.

Numerical uncertainty (the "CI" of the check): the root is computed with step ``h`` and ``h/2`` and with
``nodes`` and ``1.5 nodes`` quadrature points; the half-width is the sum of the two differences plus the
root-finding tolerance (central differences: the error of the ``h/2`` value is about a third of the
first difference, so this is conservative).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from mimflow._errors import MimflowError
from mimflow.dynamics import equiangular_gram, gram_factor
from mimflow.targets import make_link

FD_STEP = 2e-3
QUADRATURE_NODES = 100
ROOT_XTOL = 1e-10


def _g_by_quadrature(link, nodes: int):
    f = make_link(link)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / math.sqrt(2 * math.pi)
    fx = np.asarray(f(x[:, None]), dtype=float).reshape(-1)
    ww = w[:, None] * w[None, :] * fx[:, None]

    def g(m):
        z = m * x[:, None] + math.sqrt(max(1 - m * m, 0.0)) * x[None, :]
        return float(np.sum(ww * np.asarray(f(z[..., None]), dtype=float).reshape(z.shape)))

    return g


def _curvature(g, k: int, beta: float, h: float) -> float:
    V = gram_factor(equiangular_gram(k, beta))
    wbar = V.sum(axis=1)
    wbar /= np.linalg.norm(wbar)
    u = V[:, 0] - V[:, 1]
    u /= np.linalg.norm(u)

    def L(t):
        w = math.cos(t) * wbar + math.sin(t) * u
        return -sum(g(float(v @ w)) for v in V.T)

    return (L(h) - 2 * L(0.0) + L(-h)) / h**2


def _root(g, k: int, h: float, grid) -> float:
    vals = np.array([_curvature(g, k, b, h) for b in grid])
    change = np.nonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0]
    if change.size == 0:
        raise MimflowError("the finite-difference curvature at the average point does not change sign in the grid")
    i = change[-1]
    return float(optimize.brentq(lambda b: _curvature(g, k, b, h), grid[i], grid[i + 1], xtol=ROOT_XTOL))


def beta_c_finite_difference(link, k: int, *, grid_points: int = 40) -> tuple[float, float]:
    """``(beta_c, half-width)``: the threshold from the finite-difference Hessian of the population loss
    (module docstring), and its numerical uncertainty."""
    grid = np.linspace(0.005, 0.95, grid_points)
    g = _g_by_quadrature(link, QUADRATURE_NODES)
    coarse = _root(g, k, FD_STEP, grid)
    fine = _root(g, k, FD_STEP / 2, grid)
    more_nodes = _root(_g_by_quadrature(link, int(1.5 * QUADRATURE_NODES)), k, FD_STEP / 2, grid)
    return fine, abs(coarse - fine) + abs(more_nodes - fine) + 2 * ROOT_XTOL
