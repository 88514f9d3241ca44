r"""Correlation-loss neurons on the sphere as an overlap flow (docs/math/neurons.md §2.2).

A student neuron :math:`w \in S^{d-1}` trained by spherical gradient flow on the correlation loss
:math:`L(w) = -\sum_j g(v_j^T w)` against :math:`f_*(x) = \sum_{j=1}^k \sigma_*(v_j^T x)`, with

.. math::  g(m) = \mathbb{E}[\sigma_*(u)\sigma(z)]_{\mathrm{corr}(u,z)=m} = \sum_p a_p m^p,\qquad a_p = c_p(\sigma_*)\,c_p(\sigma),

moves its overlaps :math:`m = V^T w \in \mathbb{R}^k` (``V = [v_1..v_k]``, Gram matrix ``Q = V^T V``) by

.. math::  \dot m = (Q - m m^T)\, g'(m) \qquad (g' \text{ entrywise}),

exactly and for every ``d``: ``d`` enters only through :math:`m(0)`. The neurons of a network
:math:`\sum_i \sigma(w_i^T x)` with fixed output weights are independent (the correlation loss
decouples), so a network of ``n`` neurons is ``n`` independent copies of this ODE: the columns of
:math:`M = V^T W \in \mathbb{R}^{k\times n}`. :func:`correlation_flow` is that
:class:`~mimflow.dynamics.OverlapFlow` (geometry ``"sphere"``), with loss
:math:`-\sum_{j,i} g(M_{ji})`; :func:`~mimflow.dynamics.solve_neurons` integrates the same vector field
neuron by neuron, with escape times.

This module takes the coefficients ``a = (a_0..a_K)`` as an array (``mimflow.theory.correlation_coefficients``
builds them from two links); it never imports ``theory``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics._flows import OverlapFlow
from mimflow.hermite import MultivariateSpectrum

# ----------------------------------------------------------------------------- the ODE


def derivative_coefficients(a) -> jax.Array:
    """``b_q = (q+1) a_{q+1}``: coefficients of :math:`g'(m) = \\sum_q b_q m^q`."""
    a = jnp.asarray(a, dtype=jnp.float64)
    return a[1:] * jnp.arange(1, a.shape[0], dtype=jnp.float64)


def _polyval(coeffs, m):
    """Horner: :math:`\\sum_q c_q m^q` entrywise (``coeffs`` ascending)."""
    out = jnp.zeros_like(m) + coeffs[-1]
    for q in range(coeffs.shape[0] - 2, -1, -1):
        out = out * m + coeffs[q]
    return out


def neuron_vector_field(m, a, Q):
    r""":math:`\dot m = (Q - m m^T) g'(m)` for overlaps ``m`` of shape ``(..., k)`` (docs/math/neurons.md §2.2).

    Example:
        >>> import numpy as np
        >>> a = np.array([0.0, 0.0, 0.0, 1.0])  # g = m^3 (sigma = sigma* = h3)
        >>> np.asarray(neuron_vector_field(np.array([0.5, 0.0]), a, np.eye(2))).round(4).tolist()
        [0.5625, 0.0]
    """
    m = jnp.asarray(m, dtype=jnp.float64)
    gp = _polyval(derivative_coefficients(a), m)
    Q = jnp.asarray(Q, dtype=jnp.float64)
    return jnp.matmul(gp, Q.T) - m * jnp.sum(m * gp, axis=-1, keepdims=True)


def check_coefficients(a) -> np.ndarray:
    """Validate the coefficients ``a_0..a_K`` of ``g`` (finite, ``K >= 1``)."""
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise MimflowError("g must be given by finite coefficients a_0..a_K with K >= 1")
    return a


def correlation_flow(coefficients, gram, *, neurons: int = 1,
                     spectrum: MultivariateSpectrum | None = None) -> OverlapFlow:
    r"""The ``n``-neuron correlation flow on :math:`M = V^T W` (``(k, n)``), docs/math/neurons.md §2.2.

    Each column :math:`m` of ``M`` follows :math:`\dot m = (Q - mm^T)g'(m)` (:func:`neuron_vector_field`);
    the loss is :math:`-\sum_{j,i} g(M_{ji})` (the population correlation loss without its constant).

    Args:
        coefficients: ``(K+1,)`` coefficients ``a`` of :math:`g(m) = \sum_p a_p m^p`.
        gram: ``(k, k)`` Gram matrix ``Q`` of the unit index vectors.
        neurons: number ``n`` of student neurons (columns of ``M``).
        spectrum: the activation's spectrum, when ``a = c(\sigma)^2`` (recorded; gives the truncation tail).

    Example:
        >>> import numpy as np
        >>> flow = correlation_flow([0.0, 0.0, 0.0, 1.0], np.eye(2), neurons=3)
        >>> (flow.r, flow.p, flow.geometry)
        (2, 3, 'sphere')
    """
    Q = check_gram(gram)
    a = check_coefficients(coefficients)
    if isinstance(neurons, bool) or not isinstance(neurons, (int, np.integer)) or neurons < 1:
        raise MimflowError(f"neurons must be a positive integer, got {neurons!r}")
    c = jnp.asarray(a)
    powers = jnp.arange(a.size, dtype=jnp.float64)

    def loss(M):
        return -jnp.sum(c[None, None, :] * M[..., None] ** powers[None, None, :])

    def vector_field(M):
        # the columns of M = V^T W are the neurons' overlap vectors m (docs/math/neurons.md §2.2)
        return neuron_vector_field(M.T, a, Q).T

    tail = 0.0 if spectrum is None else float(spectrum.tail)
    return OverlapFlow("correlation", Q.shape[0], int(neurons), loss, vector_field, geometry="sphere",
                       degree=a.size - 1, spectrum=spectrum, truncation_tail=tail)


# ----------------------------------------------------------------------------- Gram matrices


def gram_factor(Q) -> np.ndarray:
    """``R (r, k)`` with :math:`R^T R = Q`, ``r = rank Q`` (eigen-decomposition; Q PSD)."""
    Q = np.asarray(Q, dtype=float)
    lam, E = np.linalg.eigh(Q)
    keep = lam > 1e-12 * max(float(lam.max()), 1e-300)
    return np.sqrt(lam[keep])[:, None] * E[:, keep].T


def check_gram(Q, name: str = "gram") -> np.ndarray:
    """Validate a Gram matrix of unit index vectors: square, finite, symmetric, unit diagonal, PSD."""
    Q = np.asarray(Q, dtype=float)
    if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] < 1:
        raise MimflowError(f"{name} must be a square k x k matrix with k >= 1, got shape {Q.shape}")
    if not np.all(np.isfinite(Q)):
        raise MimflowError(f"{name} contains NaN/inf")
    if not np.allclose(Q, Q.T, atol=1e-10, rtol=0):
        raise MimflowError(f"{name} must be symmetric (it is V^T V); max |Q - Q^T| = {np.abs(Q - Q.T).max():.3g}")
    if not np.allclose(np.diag(Q), 1.0, atol=1e-10, rtol=0):
        raise MimflowError(f"{name} must have unit diagonal (unit index vectors v_j); got diagonal "
                           f"{np.round(np.diag(Q), 6).tolist()}: normalise the vectors")
    lam = np.linalg.eigvalsh(0.5 * (Q + Q.T))
    if lam.min() < -1e-10:
        raise MimflowError(f"{name} is not positive semi-definite (smallest eigenvalue {lam.min():.3g}): "
                           "it cannot be a Gram matrix V^T V")
    return 0.5 * (Q + Q.T)


def equiangular_gram(k: int, beta: float) -> np.ndarray:
    """:math:`Q = (1-\\beta) I + \\beta 1 1^T` (docs/math/neurons.md §2.4)."""
    return (1.0 - beta) * np.eye(k) + beta * np.ones((k, k))


