r"""Correlation-loss neurons on the sphere: the exact k-dimensional overlap ODE (docs/math/neurons.md §2.2).

A student neuron :math:`w \in S^{d-1}` trained by spherical gradient flow on the correlation loss
:math:`L(w) = -\sum_j g(v_j^T w)` against :math:`f_*(x) = \sum_{j=1}^k \sigma_*(v_j^T x)`, with

.. math::  g(m) = \mathbb{E}[\sigma_*(u)\sigma(z)]_{\mathrm{corr}(u,z)=m} = \sum_p a_p m^p,\qquad a_p = c_p(\sigma_*)\,c_p(\sigma),

moves its overlaps :math:`m = V^T w \in \mathbb{R}^k` (``V = [v_1..v_k]``, Gram matrix ``Q = V^T V``) by

.. math::  \dot m = (Q - m m^T)\, g'(m) \qquad (g' \text{ entrywise}),

exactly and for every ``d``: ``d`` enters only through :math:`m(0)`. The neurons of a network
:math:`\sum_i \sigma(w_i^T x)` with fixed output weights are independent (the correlation loss
decouples), so a network of ``n`` neurons is ``n`` independent copies of this ODE.

This module takes the coefficients ``a = (a_0..a_K)`` as an array (``mimflow.theory.correlation_coefficients``
builds them from two links); it never imports ``theory``. Contents:

* :func:`neuron_initial_overlaps`: exact finite-``d`` law of :math:`m(0)` for ``w`` uniform on the
  sphere, without d-dimensional arrays. Write :math:`V = U R` with ``U`` (d x r) orthonormal and
  :math:`R^T R = Q` (``r = rank Q``); by rotation invariance :math:`U^T w` is the first ``r``
  coordinates of a uniform unit vector, :math:`u = z/\sqrt{|z|^2 + \chi^2_{d-r}}` with
  :math:`z \sim N(0, I_r)` (the law of :func:`~mimflow.dynamics.haar_overlaps` with one student
  column), and :math:`m = R^T u`; :math:`\mathbb{E}[m m^T] = Q/d`.
* :func:`solve_neurons`: every neuron of every seed in one compiled, batched call
  (:func:`~mimflow.dynamics._dopri_batch.dopri_solve_batch`), with per-neuron escape times (first time
  :math:`\max_j |m_j| \ge 1/2`) and a stop at convergence.
* :func:`classify_neuron_end_points`: which index vector each neuron reached.
* Cross-checks: :func:`solve_spherical_neurons` (the d-dimensional spherical flow of each neuron)
  and :func:`solve_network_correlation_flow` (the d-dimensional ``n``-neuron network trained on the
  population correlation loss, evaluated by Gauss-Hermite quadrature of the links themselves,
  not through their Hermite coefficients).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics._dopri_batch import CONVERGED, NONFINITE, T_MAX, dopri_solve_batch, row_max, row_sum

DEFAULT_THRESHOLD = 0.5
"""A neuron has escaped the search phase when its largest overlap :math:`\\max_j |m_j|` reaches 1/2."""


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


def _overlap_field(params):
    a, Q = params
    return lambda m: neuron_vector_field(m, a, Q)


def _orthogonal_overlap_field(params):
    r"""``Q = I``: :math:`\dot m = g'(m) - m\,(m^Tg'(m))`, without the ``k x k`` product."""
    a, _ = params

    def F(m):
        gp = _polyval(derivative_coefficients(a), m)
        return gp - m * row_sum(m * gp)

    return F


def _max_abs(params):
    del params
    return lambda y: row_max(jnp.abs(y))


# ----------------------------------------------------------------------------- initial overlaps


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


def neuron_initial_overlaps(Q, d: int, n: int, seeds, *, salt: int = 0) -> np.ndarray:
    """``(S, n, k)`` exact initial overlaps :math:`m = V^T w`, ``w`` uniform on :math:`S^{d-1}` (module doc).

    One draw per neuron. Seed ``s`` draws from ``numpy.random.default_rng(SeedSequence([salt, s]))``
    (identical seeds give identical numbers, and a seed's neurons do not depend on the other seeds
    requested). NumPy rather than ``jax.random``: the chi-square (gamma) draw compiled per shape
    took ~4 s in JAX against microseconds here, and nothing downstream differentiates through it.

    Example:
        >>> neuron_initial_overlaps(np.eye(3), 10**6, 5, [0, 1]).shape
        (2, 5, 3)
    """
    Q = check_gram(Q)
    R = gram_factor(Q)
    r = R.shape[0]
    for label, value in (("d", d), ("n (neurons)", n)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise MimflowError(f"{label} must be a positive integer, got {value!r}")
    if d <= r:
        raise MimflowError(f"d = {d} must exceed the rank {r} of the Gram matrix")
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    out = np.empty((len(seeds), n, r))
    for i, seed in enumerate(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([int(salt), int(seed)]))
        z = rng.standard_normal((n, r))
        rest = rng.chisquare(d - r, n)  # |z_{r+1..d}|^2
        out[i] = z / np.sqrt(np.sum(z * z, axis=1) + rest)[:, None]
    return out @ R


# ----------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class NeuronRun:
    """Result of :func:`solve_neurons` (NumPy arrays; ``S`` seeds, ``n`` neurons, ``k`` index vectors).

    Attributes:
        m0, m: initial and final overlaps ``(S, n, k)``.
        escape_time: ``(S, n)`` first time :math:`\\max_j|m_j| \\ge` ``threshold`` (``inf``: never).
        t_stop: ``(S, n)`` time each neuron stopped (converged, or ``t_max``).
        status: ``(S, n)`` solver status (1 converged, 2 reached t_max, 4 step budget).
        steps: ``(S, n)`` solver steps.
        save_times, saved: optional ``(T,)`` and ``(S, n, T, k)`` trajectory samples.
    """

    m0: np.ndarray
    m: np.ndarray
    escape_time: np.ndarray
    t_stop: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    t_max: float
    threshold: float
    save_times: np.ndarray | None = None
    saved: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def converged(self) -> np.ndarray:
        return self.status == CONVERGED


def solve_neurons(
    a,
    Q,
    m0,
    *,
    t_max: float,
    threshold: float = DEFAULT_THRESHOLD,
    save_times=None,
    rtol: float = 1e-8,
    atol: float = 1e-14,
    conv_tol: float | None = None,
    max_steps: int = 100_000,
    chunk: int = 200,
    progress=None,
) -> NeuronRun:
    r"""Integrate :math:`\dot m = (Q - mm^T)g'(m)` for every neuron and seed in one batched call.

    Args:
        a: ``(K+1,)`` coefficients of :math:`g(m) = \sum_p a_p m^p`.
        Q: ``(k, k)`` Gram matrix of the index vectors.
        m0: ``(S, n, k)`` (or ``(n, k)``) initial overlaps, e.g. :func:`neuron_initial_overlaps`.
        t_max: final time for neurons that have not converged.
        threshold: escape threshold on :math:`\max_j |m_j|`.
        save_times: optional increasing times at which to save every neuron's overlaps.
        rtol, atol, conv_tol: solver tolerances and the convergence speed (``max_j |\dot m_j|``;
            default ``100 rtol``: an explicit solver holds the state only to ~``rtol``, so near a
            minimum with curvature ``lambda`` the speed cannot fall far below ``lambda rtol``, STACK.md).

    Raises:
        MimflowError: when a neuron's overlaps become non-finite (never returned as a result).
    """
    Q = check_gram(Q)
    a = np.asarray(a, dtype=float)
    m0 = np.asarray(m0, dtype=float)
    if m0.ndim == 2:
        m0 = m0[None]
    if m0.ndim != 3 or m0.shape[2] != Q.shape[0]:
        raise MimflowError(f"initial overlaps must have shape (seeds, neurons, {Q.shape[0]}), got {m0.shape}")
    if a.ndim != 1 or a.size < 2 or not np.all(np.isfinite(a)):
        raise MimflowError("g must be given by finite coefficients a_0..a_K with K >= 1")
    S, n, k = m0.shape
    conv_tol = 100.0 * rtol if conv_tol is None else conv_tol
    # shape buckets, so that runs of similar sizes share one compiled solver: the batch is padded to
    # a power of two (>= 64) with copies of the first neuron, the coefficients with zeros
    a_pad = np.zeros(max(4, -(-a.size // 4) * 4))
    a_pad[: a.size] = a
    B = S * n
    B_pad = max(64, 1 << (B - 1).bit_length())
    y0 = m0.reshape(B, k)
    y0 = np.concatenate([y0, np.repeat(y0[:1], B_pad - B, axis=0)])
    params = (jnp.asarray(a_pad), jnp.asarray(Q))
    field_factory = _orthogonal_overlap_field if np.array_equal(Q, np.eye(k)) else _overlap_field
    st = dopri_solve_batch(field_factory, _max_abs, params, y0, t_max=t_max,
                           threshold=threshold, save_times=save_times, rtol=rtol, atol=atol, conv_tol=conv_tol,
                           max_steps=max_steps, chunk=chunk, progress=progress)
    st = jax.tree_util.tree_map(lambda x: x[:B], st)
    if np.any(st.status == NONFINITE) or not np.all(np.isfinite(st.y)):
        raise MimflowError("the neuron overlap ODE diverged (non-finite overlaps): check the links' coefficients")
    saved = None
    if save_times is not None:
        saved = st.saved.reshape(S, n, -1, k)
    return NeuronRun(m0=m0, m=st.y.reshape(S, n, k), escape_time=st.t_escape.reshape(S, n),
                     t_stop=st.t.reshape(S, n), status=st.status.reshape(S, n), steps=st.steps.reshape(S, n),
                     t_max=float(t_max), threshold=float(threshold),
                     save_times=None if save_times is None else np.asarray(save_times, dtype=float), saved=saved,
                     info={"rtol": rtol, "atol": atol, "conv_tol": conv_tol, "t_max_hit": int(np.sum(st.status == T_MAX))})


# ----------------------------------------------------------------------------- end points

INDEX, AVERAGE, OTHER, NONE = "index vector", "average", "other", "none"
END_POINT_LABELS = (INDEX, AVERAGE, OTHER, NONE)


def classify_neuron_end_points(m, converged, *, gap: float = 1e-3):
    r"""Which index vector each neuron reached.

    A converged neuron whose largest :math:`|m_j|` exceeds every other :math:`|m_l|` by more than
    ``gap`` reached :math:`\mathrm{sign}(m_j) v_j` (label ``"index vector"``); one whose overlaps are
    all equal (spread below ``gap``) and non-zero reached the average :math:`\bar w \propto \sum_j v_j`
    (``"average"``, docs/math/neurons.md §2.4); any other converged point is ``"other"`` (e.g. a sub-average
    saddle); a neuron that did not converge is ``"none"`` (for odd :math:`p^*`, a neuron whose
    overlaps are all negative drifts towards :math:`w \perp V`, docs/math/neurons.md §2.3).

    Returns:
        ``(index, sign, label)``: arrays of the shape of ``m[..., 0]``; ``index`` is ``j`` (0-based)
        or -1, ``sign`` is :math:`\pm1` or 0, ``label`` a string array.
    """
    m = np.asarray(m, dtype=float)
    converged = np.asarray(converged, dtype=bool)
    absm = np.abs(m)
    j = np.argmax(absm, axis=-1)
    top = np.take_along_axis(absm, j[..., None], axis=-1)[..., 0]
    if m.shape[-1] > 1:
        second = np.sort(absm, axis=-1)[..., -2]
    else:
        second = np.zeros_like(top)
    spread = m.max(axis=-1) - m.min(axis=-1)
    is_index = converged & (top - second > gap)
    is_average = converged & ~is_index & (spread < gap) & (top > gap) & (m.shape[-1] > 1)
    label = np.where(is_index, INDEX, np.where(is_average, AVERAGE, np.where(converged, OTHER, NONE)))
    sign = np.where(is_index, np.sign(np.take_along_axis(m, j[..., None], axis=-1)[..., 0]), 0).astype(int)
    index = np.where(is_index, j, -1)
    return index, sign, label


# ----------------------------------------------------------------------------- d-dimensional cross-checks


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
