r"""d-dimensional cross-checks of the correlation flow (docs/math/neurons.md §2.2).

* :func:`solve_spherical_neurons`: the d-dimensional spherical flow of each neuron (same solver and
  stopping rule as :func:`~mimflow.dynamics.solve_neurons`, state of size ``d`` instead of ``k``);
* :func:`solve_network_correlation_flow`: the d-dimensional ``n``-neuron network trained on the
  population correlation loss, evaluated by Gauss-Hermite quadrature of the links themselves
  (:func:`gauss_hermite_correlation`), not through their Hermite coefficients.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics._correlation import _polyval, derivative_coefficients
from mimflow.dynamics._dopri_batch import dopri_solve_batch
from mimflow.dynamics._neurons import DEFAULT_THRESHOLD, NeuronRun


def _sphere_field(params):
    a, V = params

    def F(w):
        m = w @ V
        gp = _polyval(derivative_coefficients(a), m)
        grad = gp @ V.T
        return grad - w * jnp.sum(w * grad, axis=1, keepdims=True)

    return F


def _sphere_indicator(params):
    _, V = params
    return lambda w: jnp.max(jnp.abs(w @ V), axis=1)


def solve_spherical_neurons(a, V, W0, *, t_max: float, threshold: float = DEFAULT_THRESHOLD, save_times=None,
                            rtol: float = 1e-8, atol: float = 1e-14, conv_tol: float | None = None,
                            max_steps: int = 100_000) -> NeuronRun:
    r"""The d-dimensional spherical flow :math:`\dot w = (I - ww^T)\sum_j g'(v_j^Tw)v_j` of each row of ``W0``.

    Cross-check of :func:`solve_neurons` (same solver and stopping rule, state of size ``d`` instead
    of ``k``). ``V``: ``(d, k)`` index vectors as columns; ``W0``: ``(B, d)`` unit rows. Returns a
    :class:`NeuronRun` whose ``m``/``saved`` hold the overlaps :math:`V^T w` (``S = 1``, ``n = B``).
    """
    V = np.asarray(V, dtype=float)
    W0 = np.atleast_2d(np.asarray(W0, dtype=float))
    conv_tol = 100.0 * rtol if conv_tol is None else conv_tol
    params = (jnp.asarray(np.asarray(a, dtype=float)), jnp.asarray(V))
    st = dopri_solve_batch(_sphere_field, _sphere_indicator, params, W0, t_max=t_max, threshold=threshold,
                           save_times=save_times, rtol=rtol, atol=atol, conv_tol=conv_tol, max_steps=max_steps)
    if not np.all(np.isfinite(st.y)):
        raise MimflowError("the d-dimensional spherical flow diverged (non-finite weights)")
    B = W0.shape[0]
    saved = None if save_times is None else (st.saved @ V)[None]
    return NeuronRun(m0=(W0 @ V)[None], m=(st.y @ V)[None], escape_time=st.t_escape.reshape(1, B),
                     t_stop=st.t.reshape(1, B), status=st.status.reshape(1, B), steps=st.steps.reshape(1, B),
                     t_max=float(t_max), threshold=float(threshold),
                     save_times=None if save_times is None else np.asarray(save_times, dtype=float), saved=saved,
                     info={"final_norms": np.linalg.norm(st.y, axis=1)})


def gauss_hermite_correlation(sigma_star, sigma, n_nodes: int = 60):
    r"""``g(m) = E[sigma*(u) sigma(m u + sqrt(1-m^2) z)]`` by a product Gauss-Hermite rule (JAX-traceable).

    Independent of the Hermite coefficients (exact for polynomial links of degree < ``n_nodes``).
    ``sigma_star``, ``sigma``: JAX functions of an array ``z`` (elementwise).
    """
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    x, w = jnp.asarray(x), jnp.asarray(w / np.sqrt(2.0 * np.pi))
    s_star = sigma_star(x)  # (N,)

    def g(m):
        lead = (1,) * m.ndim
        xa, xb = x.reshape(lead + (-1, 1)), x.reshape(lead + (1, -1))
        c = jnp.sqrt(jnp.maximum(1.0 - m * m, 0.0))[..., None, None]
        inner = sigma(m[..., None, None] * xa + c * xb)  # (..., N, N)
        weights = (w[:, None] * w[None, :] * s_star[:, None]).reshape(lead + (x.shape[0], x.shape[0]))
        return jnp.sum(weights * inner, axis=(-2, -1))

    return g


def solve_network_correlation_flow(sigma_star, sigma, V, W0, *, t_max: float, save_times, n_nodes: int = 60,
                                   rtol: float = 1e-9, atol: float = 1e-14):
    r"""The ``n``-neuron network :math:`\sum_i\sigma(w_i^Tx)` on the population correlation loss, in ``d`` dims.

    :math:`L(W) = -\mathbb{E}[f_*(x)f(x)] = -\sum_{i,j} g(v_j^Tw_i)` with ``g`` evaluated by
    :func:`gauss_hermite_correlation` (quadrature of the links, no Hermite series), gradient by
    ``jax.grad`` of the whole network loss, projected on each neuron's tangent space. A third view
    of the same dynamics (module docstring). ``W0``: ``(n, d)`` unit rows. Returns the overlaps
    ``(T, n, k)`` at ``save_times`` (integrated to ``t_max`` without a convergence stop).
    """
    V = jnp.asarray(np.asarray(V, dtype=float))
    W0 = np.atleast_2d(np.asarray(W0, dtype=float))
    n, d = W0.shape
    g = gauss_hermite_correlation(sigma_star, sigma, n_nodes)

    def loss(W):
        return -jnp.sum(g(W @ V))

    grad = jax.grad(loss)

    def make_field(_params):
        def F(flat):
            W = flat.reshape(n, d)
            G = -grad(W)
            G = G - W * jnp.sum(W * G, axis=1, keepdims=True)
            return G.reshape(1, n * d)
        return F

    def make_ind(_params):
        return lambda flat: jnp.min(jnp.max(jnp.abs(flat.reshape(n, d) @ V), axis=1))[None]

    st = dopri_solve_batch(make_field, make_ind, (), W0.reshape(1, n * d), t_max=t_max, threshold=2.0,
                           save_times=save_times, rtol=rtol, atol=atol, conv_tol=0.0)
    saved = st.saved.reshape(-1, n, d)
    return np.asarray(saved @ np.asarray(V))
