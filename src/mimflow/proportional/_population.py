r"""Test error from the order parameters ``(m, q)`` alone (docs/math/dmft.md §3.2).

For a fresh sample, ``(z, r) = (a^T w*, a^T w)`` is a centred Gaussian pair with
``E z^2 = 1, E z r = m, E r^2 = q``; the test error is the population loss

.. math::  \mathcal E(m, q) = E\, \ell\big(m z + \sqrt{q - m^2}\,\xi;\; f(z) + \sigma\varepsilon\big),

computed by a tensor Gauss-Hermite rule in ``(z, xi)`` (and ``eps`` when ``sigma > 0``). For a
polynomial loss and link (Wirtinger flow on phase retrieval) the rule is exact; e.g. for
``l = (r^2 - y)^2/4`` and ``y = z^2`` it equals ``(3 q^2 - 2 q - 4 m^2 + 3)/4``.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow.hermite import gauss_hermite_rule

__all__ = ["test_error"]


def test_error(problem, m, q, *, n_nodes: int = 64):
    """Population loss at overlap ``m`` and squared norm ``q`` (arrays of one shape; NumPy out)."""
    m = np.asarray(m, dtype=float)
    q = np.asarray(q, dtype=float)
    x, w = gauss_hermite_rule(n_nodes)
    z, xi = x[:, None], x[None, :]
    weights = w[:, None] * w[None, :]
    if problem.noise > 0:
        xe, we = gauss_hermite_rule(24)
        z, xi, eps = z[..., None], xi[..., None], xe[None, None, :]
        weights = weights[..., None] * we[None, None, :]
    else:
        eps = np.zeros((1, 1))
    y = np.asarray(problem.labels(jnp.asarray(z + 0.0 * xi), jnp.asarray(eps + 0.0 * xi)))
    flat_m, flat_q = m.reshape(-1), q.reshape(-1)
    s_all = np.sqrt(np.maximum(flat_q - flat_m**2, 0.0))
    per = max(1, int(4e6 // max(y.size, 1)))
    values = []
    for start in range(0, flat_m.size, per):
        mm = flat_m[start:start + per].reshape((-1,) + (1,) * y.ndim)
        ss = s_all[start:start + per].reshape((-1,) + (1,) * y.ndim)
        r = mm * z[None] + ss * xi[None] + 0.0 * y[None]
        vals = np.asarray(problem.loss.value(jnp.asarray(r), jnp.asarray(np.broadcast_to(y[None], r.shape))))
        values.append(np.sum(weights[None] * vals, axis=tuple(range(1, r.ndim))))
    out = np.concatenate(values).reshape(m.shape) if values else np.zeros(m.shape)
    return out


test_error.__test__ = False  # not a pytest test
