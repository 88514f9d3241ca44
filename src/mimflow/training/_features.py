r"""Hermite features of the local fields and their gradients (the student link of docs/math/finite-sample.md §1.8).

For :math:`\lambda = W^T x \in \mathbb{R}^p` and multi-indices :math:`|\beta| \le K` (the order
of :func:`mimflow.hermite.multi_indices`),

.. math::

    \phi_\beta(\lambda) = \prod_{i=1}^p h_{\beta_i}(\lambda_i),\qquad
    \partial_j\phi_\beta(\lambda) = \sqrt{\beta_j}\,h_{\beta_j-1}(\lambda_j)\prod_{i\ne j} h_{\beta_i}(\lambda_i),

using :math:`h_k' = \sqrt{k}\,h_{k-1}`. When :math:`W^TW = I` the local field is standard
Gaussian and the features are orthonormal, :math:`\mathbb{E}[\phi_\beta\phi_\gamma] = \delta_{\beta\gamma}`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from mimflow.hermite import hermite_normalized, multi_indices


def feature_indices(p: int, degree: int) -> np.ndarray:
    """``(m, p)`` multi-indices of the features (``m = C(degree + p, p)``)."""
    return np.asarray(multi_indices(p, degree))


def hermite_features(lam, betas: np.ndarray, degree: int):
    r"""Features and their gradients.

    Args:
        lam: ``(B, p)`` local fields.
        betas: ``(m, p)`` multi-indices (static numpy array).
        degree: the largest ``|beta|``.

    Returns:
        ``phi (B, m)`` and ``dphi (B, m, p)`` with ``dphi[b, m, j] = d phi_m / d lam_j``.
    """
    B, p = lam.shape
    h = hermite_normalized(lam, degree)  # (B, p, K+1)
    ks = jnp.arange(degree + 1, dtype=jnp.float64)
    dh = jnp.concatenate([jnp.zeros((B, p, 1)), h[..., :-1]], axis=-1) * jnp.sqrt(ks)[None, None, :]
    cols = np.arange(p)[None, :]
    g = h[:, cols, betas]  # (B, m, p)
    dg = dh[:, cols, betas]  # (B, m, p)
    phi = jnp.prod(g, axis=-1)
    grads = []
    for j in range(p):
        mask = np.zeros((1, 1, p), dtype=bool)
        mask[..., j] = True
        grads.append(jnp.prod(jnp.where(mask, dg, g), axis=-1))
    dphi = jnp.stack(grads, axis=-1)
    return phi, dphi
