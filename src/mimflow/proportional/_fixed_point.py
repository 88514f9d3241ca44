r"""Long-time fixed point of the GD DMFT: the ``(m, q, chi)`` stationary equations (docs/math/dmft.md §3.4).

Internal convention (``rho = 1``, ``lambda = alpha lambda~``). At a limit point of GD
(``theta^{t+1} = theta^t``) the DMFT collapses to three scalars, with ``chi`` the integrated response:

.. math::

    w &= m z + \sqrt{q - m^2}\,\xi,\qquad y = f(z) + \sigma\varepsilon,\qquad
    r = \mathrm{prox}_{\chi\ell(\cdot; y)}(w)\ \ (r + \chi\ell'(r; y) = w),\\
    \bar R_g &= \alpha E\Big[\frac{\ell''}{1 + \chi\ell''}\Big],\qquad
    \nu = \alpha E\Big[\frac{\partial_y\ell'\, f'(z)}{1 + \chi\ell''}\Big],\qquad
    \frac1\chi = \lambda + \bar R_g,\\
    m &= -\chi\nu,\qquad q = \chi^2\big(\alpha E[\ell'(r; y)^2] + \nu^2\big).

For the non-convex Wirtinger loss the root of ``r + chi l'(r; y) = w`` is taken as the *minimiser* of
``(r - w)^2/2 + chi l(r; y)`` (the branch GD reaches, docs/math/dmft.md §3.4); the solver reports the smallest
``1 + chi l''`` on the quadrature nodes (it must be positive). Expectations use a tensor
Gauss-Hermite rule in ``(z, xi)`` (and ``eps``); the root in ``(m, q, chi)`` is found by
``scipy.optimize.root`` from a start near the truth (or a given start, e.g. the end of a DMFT run).
For links with jumps (``sign``) ``nu = alpha E[l'(r; y) z] - m R_g`` (Gaussian integration by parts in
``z``, which needs no ``f'``).
Independent of the DMFT solver and of the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import root

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.hermite import gauss_hermite_rule
from mimflow.proportional._population import test_error
from mimflow.proportional._problem import _has_jump

__all__ = ["FixedPoint", "solve_fixed_point"]


@dataclass(frozen=True)
class FixedPoint:
    """``overlap`` (``m``), ``norm2`` (``q``), ``chi``, ``nu``, ``min_curvature`` (``min 1 + chi l''``),
    ``test_error`` and ``train_error`` (``E l(r; y)`` at the prox), ``converged``."""

    overlap: float
    norm2: float
    chi: float
    nu: float
    min_curvature: float
    test_error: float
    train_error: float
    converged: bool


def _prox(loss, w, y, chi, n_starts: int = 9, n_iter: int = 60):
    """Minimiser of ``(r - w)^2/2 + chi l(r; y)`` elementwise, by safeguarded Newton from several starts."""
    spread = 3.0 * (1.0 + jnp.abs(w) + jnp.sqrt(jnp.abs(y)))
    offsets = jnp.linspace(-1.0, 1.0, n_starts)
    r0 = w[None] + offsets.reshape((n_starts,) + (1,) * w.ndim) * spread[None]
    W, Y = jnp.broadcast_to(w, r0.shape), jnp.broadcast_to(y, r0.shape)

    def body(_, r):
        F = r - W + chi * loss.d1(r, Y)
        Fp = 1.0 + chi * loss.d2(r, Y)
        newton = r - F / jnp.where(Fp > 1e-8, Fp, 1.0)
        descent = r - 0.05 * F / (1.0 + jnp.abs(Fp))
        return jnp.where(Fp > 1e-8, newton, descent)

    r = jax.lax.fori_loop(0, n_iter, body, r0)
    obj = 0.5 * (r - W) ** 2 + chi * loss.value(r, Y)
    F = r - W + chi * loss.d1(r, Y)
    obj = jnp.where(jnp.abs(F) < 1e-8 * (1.0 + jnp.abs(W)), obj, jnp.inf)
    best = jnp.argmin(obj, axis=0)
    return jnp.take_along_axis(r, best[None], axis=0)[0]


def _rule(problem, n_nodes: int):
    x, w = gauss_hermite_rule(n_nodes)
    z, xi = np.meshgrid(x, x, indexing="ij")
    weights = np.outer(w, w)
    if problem.noise > 0:
        xe, we = gauss_hermite_rule(16)
        z, xi, eps = (np.broadcast_to(a, (n_nodes, n_nodes, 16)) for a in (z[..., None], xi[..., None], xe))
        weights = weights[..., None] * we
    else:
        eps = np.zeros_like(z)
    return jnp.asarray(z), jnp.asarray(xi), jnp.asarray(eps), jnp.asarray(weights)


def solve_fixed_point(problem, *, start: tuple[float, float] | None = None, n_nodes: int = 80) -> FixedPoint:
    """Solve the stationary equations of docs/math/dmft.md §3.4 (see the module docstring).

    Args:
        problem: a :class:`._problem.ProportionalGD` (its ``lr`` and ``init`` play no role).
        start: ``(m, q)`` to start the root search from (default ``(1, 1)``, the truth).
        n_nodes: Gauss-Hermite nodes per Gaussian variable.

    Raises:
        MimflowError: when the root search fails or lands on an invalid point (``q < m^2``).
    """
    alpha, lam, loss = problem.alpha, problem.lam, problem.loss
    z, xi, eps, weights = _rule(problem, n_nodes)
    y = problem.labels(z, eps)
    fp = problem.f_prime(z)
    stein = problem.link.tree is not None and _has_jump(problem.link.tree)

    @jax.jit
    def moments(m, q, chi):
        w = m * z + jnp.sqrt(jnp.maximum(q - m * m, 0.0)) * xi
        r = _prox(loss, w, y, chi)
        l2 = loss.d2(r, y)
        den = 1.0 + chi * l2
        rbar = alpha * jnp.sum(weights * l2 / den)
        if stein:  # Gaussian integration by parts in z: nu = alpha E[l'(r) z] - m rbar (links with jumps)
            nu = alpha * jnp.sum(weights * loss.d1(r, y) * z) - m * rbar
        else:
            nu = alpha * jnp.sum(weights * loss.dy1(r, y) * fp / den)
        g2 = jnp.sum(weights * loss.d1(r, y) ** 2)
        train = jnp.sum(weights * loss.value(r, y))
        return rbar, nu, g2, jnp.min(den), train

    def residual(x):
        m, log_q, log_chi = x
        q, chi = np.exp(log_q), np.exp(log_chi)
        rbar, nu, g2, _, _ = (float(v) for v in moments(m, q, chi))
        chi_new = 1.0 / (lam + rbar) if lam + rbar > 0 else np.inf
        m_new = -chi * nu
        q_new = chi**2 * (alpha * g2 + nu**2)
        return [m_new - m, np.log(max(q_new, 1e-300)) - log_q, np.log(max(chi_new, 1e-300)) - log_chi]

    m0, q0 = start if start is not None else (1.0, 1.0)
    q0 = max(q0, m0 * m0 * (1.0 + 1e-6) + 1e-12)
    # chi at the truth: 1/(lambda + alpha E[l''(z; y)])
    rbar0 = alpha * float(jnp.sum(weights * loss.d2(m0 * z, y)))
    chi0 = 1.0 / max(lam + rbar0, 1e-3)
    sol = root(residual, [m0, np.log(q0), np.log(chi0)], method="hybr", options={"xtol": 1e-12})
    m, q, chi = float(sol.x[0]), float(np.exp(sol.x[1])), float(np.exp(sol.x[2]))
    if not (sol.success and np.all(np.isfinite(sol.x))) or q < m * m - 1e-9:
        raise MimflowError(f"the fixed-point equations (docs/math/dmft.md §3.4) have no solution near (m, q) = ({m0:.3g}, {q0:.3g}): "
                           f"{sol.message}; GD may not converge for these parameters")
    rbar, nu, g2, min_den, train = (float(v) for v in moments(m, q, chi))
    test = float(test_error(problem, np.array([m]), np.array([q]))[0])
    return FixedPoint(m, q, chi, nu, min_den, test, train, bool(min_den > 0))
