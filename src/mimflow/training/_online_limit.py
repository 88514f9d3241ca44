r"""The online-SGD limit of single-index learning on the sphere, with its first-order noise correction (docs/math/online-sgd.md §6.3).

Single-index planted learning on the sphere (``r = p = 1``, link fixed to :math:`f`), per-sample loss
:math:`\tfrac12(f(\lambda) - y)^2`, :math:`\lambda = w^Tx`, :math:`\nu = w_*^Tx`, :math:`y = f(\nu) + \sigma\xi`,
:math:`e = (f(\lambda) - y)f'(\lambda)` (correlation loss :math:`-y f(\lambda)`: :math:`e = -y f'(\lambda)`). One
step :math:`\tilde w = w - \eta e(x - \lambda w)`, :math:`w' = \tilde w/|\tilde w|`,
:math:`|\tilde w|^2 = 1 + \eta^2 e^2(|x|^2 - \lambda^2)`, so with :math:`\eta = \eta_0/d` and
:math:`|x|^2 = d + O(\sqrt d)`, the overlap :math:`m = w_*^Tw` moves by

.. math::

    \Delta m = \eta\,[v(m) + \text{martingale}] - \tfrac{\eta_0\eta}{2}\,C(m)\,m + O(d^{-2}),\qquad
    v(m) = (1 - m^2)\sum_k k c_k^2 m^{k-1},\quad C(m) = \mathbb{E}[e^2],

and as :math:`d \to \infty` at fixed :math:`\eta_0` the overlap converges (in ``t = n\eta``) to the
solution of the **corrected ODE** :math:`\dot m = v(m) - \tfrac{\eta_0}{2B}C(m)\,m` (batch ``B``; the
first-order noise correction of :mod:`mimflow.training._reduced`), not to the population flow
:math:`\dot m = v(m)`, which is its :math:`\eta_0 \to 0` limit (the derivation and the :math:`d^{-1/2}`
law of the deviation: :mod:`mimflow.studies.train`, ``sgd-vs-ode``). :math:`C(m)` is computed by
two-dimensional Gauss-Hermite quadrature (:math:`\lambda = z_1`, :math:`\nu = m z_1 + \sqrt{1-m^2}z_2`),
exact for polynomial links, with the links evaluated by the NumPy Hermite recursion
(:func:`hermite_link_functions`); :func:`solve_single_index_ode` integrates with scipy. Nothing of the
engines is used, so the reference is independent of the simulation it is compared with.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import solve_ivp

from mimflow._errors import MimflowError
from mimflow.hermite import gauss_hermite_rule


def hermite_link_functions(coefficients):
    """``f`` and ``f'`` of :math:`f = \\sum_k c_k h_k` (NumPy, vectorised), from the Hermite recursion."""
    c = np.asarray(coefficients, dtype=float)
    K = len(c) - 1

    def hermite(z):
        z = np.asarray(z, dtype=float)
        h = [np.ones_like(z), z]
        for k in range(1, K):
            h.append((z * h[k] - math.sqrt(k) * h[k - 1]) / math.sqrt(k + 1))
        return h[: K + 1]

    def f(z):
        return sum(ck * hk for ck, hk in zip(c, hermite(z)))

    def df(z):  # h_k' = sqrt(k) h_{k-1}
        h = hermite(z)
        return sum(c[k] * math.sqrt(k) * h[k - 1] for k in range(1, K + 1))

    return f, df


def online_limit_coefficients(coefficients, *, loss: str = "planted", noise: float = 0.0, nodes: int = 40):
    r"""The single-index online-SGD limit: ``v(m)`` and ``C(m)`` (module docstring).

    Args:
        coefficients: Hermite coefficients ``c_0..c_K`` of the link (student link = teacher link).
        loss: ``"planted"`` (square loss, :math:`e = (f(\lambda) - y)f'(\lambda)`) or ``"correlation"``
            (:math:`-y f(\lambda)`, :math:`e = -y f'(\lambda)`).
        noise: label-noise standard deviation :math:`\sigma`.
        nodes: Gauss-Hermite nodes per dimension (exact for polynomial links of degree <= nodes/2).

    Returns:
        ``(v, C)``: vectorised callables of ``m``; the corrected ODE is
        :math:`\dot m = v(m) - \tfrac{\eta d}{2B}C(m)m`.
    """
    if loss not in ("planted", "correlation"):
        raise MimflowError(f"loss must be 'planted' or 'correlation', got {loss!r}")
    c = np.asarray(coefficients, dtype=float)
    k = np.arange(len(c))
    f, df = hermite_link_functions(c)
    z, w = gauss_hermite_rule(nodes)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    ww = np.outer(w, w)

    def v(m):
        m = np.asarray(m, dtype=float)
        return (1.0 - m**2) * np.sum(k[1:] * c[1:] ** 2 * m[..., None] ** (k[1:] - 1), axis=-1)

    def C(m):
        m = np.asarray(m, dtype=float)
        mm = m[..., None, None]
        lam = z1
        nu = mm * z1 + np.sqrt(np.clip(1.0 - mm**2, 0.0, None)) * z2
        fl, dfl, fn = f(lam), df(lam), f(nu)
        if loss == "planted":
            sq = (fl - fn) ** 2 * dfl**2 + noise**2 * dfl**2
        else:
            sq = fn**2 * dfl**2 + noise**2 * dfl**2
        return np.sum(ww * sq, axis=(-2, -1))

    return v, C


def solve_single_index_ode(velocity, m0, t, *, rtol: float = 1e-10) -> np.ndarray:
    """Integrate ``dm/dt = velocity(m)`` for every seed's ``m0`` (shape ``(S,)``); returns ``(S, T)`` at ``t``.

    scipy's DOP853 (an integrator independent of :mod:`mimflow.dynamics`), ``atol = 1e-13``.
    """

    m0 = np.asarray(m0, dtype=float).reshape(-1)
    t = np.asarray(t, dtype=float)
    sol = solve_ivp(lambda _, y: velocity(y), (float(t[0]), float(t[-1])), m0, t_eval=t, method="DOP853",
                    rtol=rtol, atol=1e-13)
    if not sol.success or sol.y.shape[1] != len(t):
        raise MimflowError(f"the reference ODE failed: {sol.message}")
    return sol.y
