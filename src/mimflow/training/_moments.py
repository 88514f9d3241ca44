r"""The two-timescale link fit from Gaussian draws of its sufficient statistics (``link_fit="moments"``).

The fresh ridge fit of docs/math/finite-sample.md §1.8 depends on its batch of ``n`` samples only through

.. math::

    \hat\Sigma = \frac1n\sum_{i\le n}\phi(\lambda_i)\phi(\lambda_i)^T,\qquad
    \hat c = \frac1n\sum_{i\le n} y_i\,\phi(\lambda_i),\qquad
    \theta = (\hat\Sigma + \mu\,\mathrm{diag}(q_{|\beta|}^{-1}))^{-1}\hat c,

averages of ``n`` i.i.d. vectors :math:`v = (\phi\phi^T, f_*(z)\phi)` plus the noise part
:math:`\frac{\sigma}{n}\sum\xi_i\phi_i`, where :math:`(z, \lambda) \sim N(0, G)` and ``G`` is the Gram
matrix of ``[W*, W]``. Drawing the ``n`` samples costs ``n (r + p)`` normals and ``n m`` features per
step (2000 samples: 1.2e3 steps/s, BENCHMARKS.md). Here the statistics are drawn from their central-limit
law instead, with the **exact** mean and covariance:

.. math::

    (\hat\Sigma, \hat c) \approx \mathbb{E}[v] + n^{-1/2}\,\mathrm{Cov}(v)^{1/2} g,\qquad g \sim N(0, I).

Both moments are Gaussian integrals of polynomials (for a polynomial link), computed exactly by a
tensor Gauss-Hermite rule :math:`(e_q, w_q)_{q\le N}` in the ``r + p`` standard coordinates
``e = (e_1, e_2)`` with :math:`z = e_1`, :math:`\lambda = M^Te_1 + (Q - M^TM)^{1/2}e_2` (the map of the
reduced engine, ``P = I``): with ``k`` nodes per coordinate the rule integrates every polynomial of
degree ``<= 2k - 1`` in each coordinate, and ``v v^T`` has degree ``2 max(2K, K + deg f*)``. The
draw needs no matrix root of the covariance: with ``N`` standard normals :math:`g_q`,

.. math::

    \omega_q = w_q + n^{-1/2}\Big(\sqrt{w_q}\,g_q - w_q\sum_{q'}\sqrt{w_{q'}}\,g_{q'}\Big),\qquad
    \hat\Sigma = \sum_q\omega_q\,\phi_q\phi_q^T,\quad
    \hat c = \sum_q\omega_q f_q\phi_q + \sigma n^{-1/2}\sum_q\sqrt{w_q}\,g'_q\,\phi_q,

since :math:`\sum_q\omega_q v_q = \mathbb{E}v + n^{-1/2}\sum_q\sqrt{w_q}g_q(v_q - \mathbb{E}v)` has
covariance :math:`\frac1n\sum_q w_q(v_q - \mathbb{E}v)(v_q - \mathbb{E}v)^T = \mathrm{Cov}(v)/n`, and the
noise part has covariance :math:`\frac{\sigma^2}{n}\mathbb{E}[\phi\phi^T]` and is uncorrelated with the rest.
What is left out is the non-Gaussian part of the law of the statistics (third cumulants, relative size
``O(n^{-1/2})``); tests/test_training.py checks that the escape times of the two fits agree at small ``d``
within the standard error over seeds. Cost per step ``O(N m^2)`` with ``N = k^{r+p}`` (25 nodes for
``h2``, r = p = 1), independent of ``n`` and ``d``. For a non-polynomial link the rule is exact only
for the truncated spectrum's degree (the labels at the nodes are the link's own values).
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.hermite import gauss_hermite_rule
from mimflow.training._features import hermite_features

MIN_FIT_BATCH = 500
"""Smallest ``n`` accepted: measured on h2 (r = p = 1), the std of the fitted coefficients is within 3 % of
the exact fit's at n = 2000, 8 % too large at n = 500 and 10x too large at n = 100 (the Gaussian law of
``Sigma_hat`` then reaches singular matrices)."""

MAX_NODES = 20_000
"""Largest tensor rule (``k^(r+p)`` nodes) the moment fit accepts; beyond it use ``link_fit="fresh"``."""


def statistics_rule(r: int, p: int, feature_degree: int, label_degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor Gauss-Hermite nodes ``(N, r + p)`` and weights ``(N,)`` exact for ``Cov(v)`` (module docstring)."""
    degree = 2 * max(2 * feature_degree, feature_degree + label_degree)
    k = degree // 2 + 1
    n_nodes = k ** (r + p)
    if n_nodes > MAX_NODES:
        raise MimflowError(
            f"link_fit='moments' needs {k}^{r + p} = {n_nodes} quadrature nodes for r = {r}, p = {p}, degree "
            f"{feature_degree}: too many (max {MAX_NODES}); use link_fit='fresh' or a lower degree")
    x, w = gauss_hermite_rule(k)
    nodes = np.array(list(itertools.product(x, repeat=r + p)))
    weights = np.prod(np.array(list(itertools.product(w, repeat=r + p))), axis=1)
    return nodes, weights


def make_moment_fit(*, r: int, p: int, betas: np.ndarray, feature_degree: int, label_degree: int, labels,
                    noise: float, n: int, penalty):
    r"""``fit(params, M (r, p), Q (p, p), key) -> {"theta": (m,)}``: one draw of the fresh fit on ``n`` samples.

    ``labels``: ``z (N, r) -> (N,)`` clean labels; ``penalty``: ``(m,)`` ridge diagonal
    :math:`\mu/q_{|\beta|}`. Uses ``2 N`` standard normals from ``key`` (``N`` when ``noise == 0``).
    """
    nodes, weights = statistics_rule(r, p, feature_degree, label_degree)
    E1, E2 = jnp.asarray(nodes[:, :r]), jnp.asarray(nodes[:, r:])
    w = jnp.asarray(weights)
    sqrt_w = jnp.sqrt(w)
    f_nodes = jnp.asarray(np.asarray(labels(jnp.asarray(nodes[:, :r])), dtype=np.float64))
    scale = 1.0 / np.sqrt(float(n))
    n_draws = 2 if noise > 0 else 1

    def factor(S):
        if p == 1:
            return jnp.sqrt(jnp.maximum(S, 0.0))
        eps = 1e-13 * jnp.maximum(jnp.trace(S) / p, 1e-300)
        return jnp.linalg.cholesky(0.5 * (S + S.T) + eps * jnp.eye(p))

    def fit(params, M, Q, key):
        lam = E1 @ M + E2 @ factor(Q - M.T @ M).T  # (N, p)
        phi, _ = hermite_features(lam, betas, feature_degree)
        g = jax.random.normal(key, (n_draws, w.shape[0]), dtype=jnp.float64)
        omega = w + scale * (sqrt_w * g[0] - w * jnp.sum(sqrt_w * g[0]))
        gram = phi.T @ (omega[:, None] * phi)
        moment = phi.T @ (omega * f_nodes)
        if noise > 0:
            moment = moment + (noise * scale) * (phi.T @ (sqrt_w * g[1]))
        return {"theta": jnp.linalg.solve(gram + jnp.diag(penalty), moment)}

    return fit
