r"""Exact GD trajectory of ridge regression through the Marchenko-Pastur spectrum (independent anchor).

For the square loss ``l(r; y) = (r - y)^2/2`` GD is linear. Internal convention (docs/math/dmft.md §3.2),
``S = X^T X``, ``y = mu1 r* + e`` with ``mu1 = E[f(z) z]`` and an effective noise of variance
``sigma_e^2 = E[f(z)^2] - mu1^2 + sigma^2`` (for a Gaussian design the part of ``y`` orthogonal to
``r*`` acts on a linear estimator as independent noise):

.. math::

    \theta^t = k(S)^t\theta^0 + \varphi_t(S)(\mu_1 S\theta^* + X^\top e),\qquad
    k(s) = 1 - \eta(\lambda + s),\quad \varphi_t(s) = \frac{1 - k(s)^t}{\lambda + s},

and, with ``E`` over the limiting spectral law of ``S`` (``alpha`` times Marchenko-Pastur of ratio
``1/alpha``, support ``[(1 - sqrt(alpha))^2, (1 + sqrt(alpha))^2]``, an atom ``1 - alpha`` at 0 when
``alpha < 1``) and ``theta^0`` independent of ``X`` (``m_0 = <theta^0, theta*>/d``, ``q_0 = ||theta^0||^2/d``):

.. math::

    m_t &= m_0 E[k^t] + \mu_1 E[\varphi_t s],\\
    q_t &= q_0 E[k^{2t}] + 2 m_0\mu_1 E[k^t\varphi_t s] + \mu_1^2 E[\varphi_t^2 s^2] + \sigma_e^2 E[\varphi_t^2 s],\\
    \text{train}_t &= \frac{1}{2\alpha}\Big(q_0 E[k^{2t}s] + 2m_0\mu_1 E[k^t(\varphi_t s - 1)s]
        + \mu_1^2 E[(\varphi_t s - 1)^2 s]\Big) + \frac{\sigma_e^2}{2}\Big(1 + \frac{E[\varphi_t^2 s^2] - 2E[\varphi_t s]}{\alpha}\Big).

(The train error formula is derived for a linear link; for a nonlinear link the effective-noise
reduction of ``m_t, q_t`` is checked against the DMFT for ``relu`` in ``tests/test_dmft.py`` [D✓].)
Everything here is NumPy and quadrature; nothing is shared with the DMFT or the simulation.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ridge_gd_trajectory", "marchenko_pastur_rule"]


def marchenko_pastur_rule(alpha: float, n_nodes: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the limiting spectral law of ``S = X^T X`` (``X`` is ``alpha d x d``, entries ``N(0, 1/d)``).

    Continuous part by Gauss-Chebyshev of the second kind (exact for the square-root edges), plus the
    atom ``max(0, 1 - alpha)`` at 0. Weights sum to 1.
    """
    lo, hi = (1.0 - math.sqrt(alpha)) ** 2, (1.0 + math.sqrt(alpha)) ** 2
    j = np.arange(1, n_nodes + 1)
    theta = j * np.pi / (n_nodes + 1)
    x = 0.5 * (lo + hi) + 0.5 * (hi - lo) * np.cos(theta)
    # density of S: sqrt((hi - s)(s - lo)) / (2 pi s); with s = c + h cos(theta) the chebyshev-U rule
    # integrates g(s) sqrt(1 - u^2) du exactly for polynomial g.
    h = 0.5 * (hi - lo)
    w_cheb = np.pi / (n_nodes + 1) * np.sin(theta) ** 2  # for integral of g(u) sqrt(1-u^2) du
    weights = w_cheb * h * h / (2.0 * np.pi * x)
    nodes = x
    atom = max(0.0, 1.0 - alpha)
    if atom > 0:
        nodes = np.concatenate([[0.0], nodes])
        weights = np.concatenate([[atom], weights])
    return nodes, weights


def ridge_gd_trajectory(alpha: float, eta: float, lam: float, n_steps: int, *, mu1: float, sigma_e2: float,
                        m0: float, q0: float, n_nodes: int = 2000) -> dict:
    """``m_t, q_t`` (and the train error, exact for a linear link) of GD on the square loss, ``t = 0..T``.

    Args are in the internal convention (``eta = eta~/alpha``, ``lam = alpha lambda~``).
    Returns a dict of arrays ``overlap, norm2, train_error`` of shape ``(T + 1,)``.
    """
    s, w = marchenko_pastur_rule(alpha, n_nodes)
    k = 1.0 - eta * (lam + s)
    t = np.arange(n_steps + 1)[:, None]
    kt = k[None, :] ** t
    phi = (1.0 - kt) / (lam + s)[None, :] if lam > 0 else np.where(s[None, :] > 0, (1.0 - kt) / np.where(s > 0, s, 1.0)[None, :], eta * t)

    def E(x):
        return x @ w

    m = m0 * E(kt) + mu1 * E(phi * s)
    q = q0 * E(kt**2) + 2 * m0 * mu1 * E(kt * phi * s) + mu1**2 * E(phi**2 * s**2) + sigma_e2 * E(phi**2 * s)
    # train: |X theta - y|^2 / (2n) with theta^0 = m0 theta* + perpendicular part
    u = phi * s - 1.0
    train = (q0 * E(kt**2 * s) + 2 * m0 * mu1 * E(kt * u * s) + mu1**2 * E(u**2 * s)) / (2 * alpha) \
        + 0.5 * sigma_e2 * (1.0 + (E(phi**2 * s**2) - 2 * E(phi * s)) / alpha)
    return {"overlap": m, "norm2": q, "train_error": train}
