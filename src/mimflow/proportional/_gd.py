r"""Finite-``d`` full-batch gradient descent after a spectral, random or warm start (docs/math/dmft.md §3.2).

The simulation side of the DMFT comparison (the DMFT in :mod:`._dmft` never imports this file).
In the user-facing convention of :mod:`._problem` (``a_i ~ N(0, I_d)``, ``||w*|| = 1``):

.. math::

    w^{t+1} = w^t - \tilde\eta\Big(\tilde\lambda w^t + \frac1n \sum_{i=1}^n a_i\,\ell'(a_i^\top w^t; y_i)\Big),
    \qquad y_i = f(a_i^\top w^*) + \sigma \varepsilon_i ,

which is the internal iteration ``theta <- theta - eta (lambda theta + X^T l')`` of docs/math/dmft.md §3.2
with ``theta = sqrt(d) w``, ``X = A/sqrt(d)``, ``eta = eta~/alpha`` and ``lambda = alpha lambda~``.
By rotation invariance of the Gaussian design we take ``w* = e_1``.

Per step it records the overlap ``m_t = <w^t, w*>``, the squared norm ``q_t = ||w^t||^2``, the train
error ``(1/n) sum_i l(a_i^T w^t; y_i)`` (without the ridge term) and the test error, the population
loss at ``(m_t, q_t)`` (:func:`._population.test_error`, exact for polynomial losses and links).

Seeds are vmapped in chunks (``seed_chunk`` datasets of ``n x d`` float64 in memory at once). The
spectral start is the top eigenvector of ``D_n = (1/n) sum_i T(y_i) a_i a_i^T``, found matrix-free
by Lanczos (``scipy.sparse.linalg.eigsh`` on ``v -> A^T (T(y) * A v)/n``), sign fixed so that
``<w^0, w*> > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.linalg import LinearOperator, eigsh

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow._seeds import seed_key
from mimflow.proportional._population import test_error

__all__ = ["GDTrajectory", "simulate_gd"]


@dataclass(frozen=True)
class GDTrajectory:
    """Per-seed, per-step observables of finite-``d`` GD; arrays of shape ``(S, T + 1)``.

    Attributes:
        steps: ``(T + 1,)`` step indices ``0..T``.
        seeds: the seeds.
        overlap: ``<w^t, w*>`` (``m_t``).
        norm2: ``||w^t||^2`` (``q_t``).
        train_error: ``(1/n) sum_i l(a_i^T w^t; y_i)``.
        test_error: population loss at ``(m_t, q_t)``.
        d, n: dimension and sample size.
    """

    steps: np.ndarray
    seeds: tuple[int, ...]
    overlap: np.ndarray
    norm2: np.ndarray
    train_error: np.ndarray
    test_error: np.ndarray
    d: int
    n: int

    def mean_and_se(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Mean over seeds and its standard error (``std / sqrt(S)``, ``ddof = 1``)."""
        x = getattr(self, name)
        s = x.shape[0]
        se = x.std(axis=0, ddof=1) / np.sqrt(s) if s > 1 else np.full(x.shape[1], np.nan)
        return x.mean(axis=0), se


def _dataset(problem, d: int, n: int, key):
    ka, ke, ki = jax.random.split(key, 3)
    A = jax.random.normal(ka, (n, d), dtype=jnp.float64)
    eps = jax.random.normal(ke, (n,), dtype=jnp.float64)
    y = problem.labels(A[:, 0], eps)
    return A, y, ki


def _independent_start(problem, d: int, key):
    u = jax.random.normal(key, (d,), dtype=jnp.float64)
    init = problem.init
    if init.kind == "random":
        w = u
    else:  # warm: <w^0, e_1> = M exactly with ||w^0|| = init.norm, i.e. cosine M / init.norm
        u = u.at[0].set(0.0)
        u = u / jnp.linalg.norm(u)
        cos = init.overlap / init.norm
        w = jnp.sqrt(max(0.0, 1.0 - cos * cos)) * u
        w = w.at[0].set(cos)
    return init.norm * w / jnp.linalg.norm(w)


def _spectral_start(problem, A: np.ndarray, y: np.ndarray) -> np.ndarray:
    n, d = A.shape
    mean = float(np.mean(y))
    Ty = np.asarray(problem.T(jnp.asarray(y), mean), dtype=float)
    if not np.all(np.isfinite(Ty)):
        raise MimflowError(f"preprocessing {problem.preprocessing.name!r} is not finite on the labels: "
                           "use a bounded one (e.g. trimmed, or optimal with clip)")
    op = LinearOperator((d, d), matvec=lambda v: A.T @ (Ty * (A @ np.ravel(v))) / n, dtype=float)
    v0 = np.ones(d) / np.sqrt(d)
    _, vec = eigsh(op, k=1, which="LA", v0=v0, tol=1e-12, maxiter=20 * d)
    v = vec[:, 0]
    v = v if v[0] >= 0 else -v
    return problem.init.norm * v / np.linalg.norm(v)


@partial(jax.jit, static_argnums=(0, 3))
def _gd_chunk(problem, A, y, n_steps: int, w0):
    """GD on a chunk of seeds: ``A (S, n, d)``, ``y (S, n)``, ``w0 (S, d)`` -> overlaps etc. ``(S, T+1)``."""
    lr, ridge = problem.lr, problem.ridge
    loss = problem.loss

    def one(A, y, w0):
        n = A.shape[0]

        def observe(w):
            r = A @ w
            return w[0], w @ w, jnp.mean(loss.value(r, y)), r

        def step(w, _):
            m, q, train, r = observe(w)
            grad = ridge * w + A.T @ loss.d1(r, y) / n
            return w - lr * grad, (m, q, train)

        w_last, (m, q, train) = jax.lax.scan(step, w0, None, length=n_steps)
        m_T, q_T, train_T, _ = observe(w_last)
        return (jnp.concatenate([m, m_T[None]]), jnp.concatenate([q, q_T[None]]),
                jnp.concatenate([train, train_T[None]]))

    return jax.vmap(one)(A, y, w0)


def simulate_gd(problem, d: int, n_steps: int, seeds, *, seed_chunk: int | None = None,
                progress=None) -> GDTrajectory:
    """Run finite-``d`` GD for every seed (vmapped in chunks); see the module docstring.

    Args:
        problem: a :class:`._problem.ProportionalGD`.
        d: dimension; ``n = round(alpha d)``.
        n_steps: number of GD steps ``T`` (observables at ``t = 0..T``).
        seeds: iterable of ints (``seed_key(seed)`` each, docs/conventions.md; same seed, same numbers).
        seed_chunk: seeds per vmapped batch (default: as many as fit in ~1 GB of design matrices).
        progress: optional callable taking a fraction in ``[0, 1]``.

    Returns:
        :class:`GDTrajectory` with arrays of shape ``(S, T + 1)``.
    """
    seeds = tuple(int(s) for s in seeds)
    if not seeds:
        raise MimflowError("seeds must name at least one seed")
    d = int(d)
    if d < 2:
        raise MimflowError(f"d must be >= 2, got {d}")
    n = int(round(problem.alpha * d))
    if n < 1:
        raise MimflowError(f"alpha * d = {problem.alpha * d:g} gives no samples: raise d or alpha")
    n_steps = int(n_steps)
    if n_steps < 0:
        raise MimflowError(f"steps must be >= 0, got {n_steps}")
    if seed_chunk is None:
        seed_chunk = max(1, min(len(seeds), int(1.0e9 // (8 * n * d))))
    out = []
    for start in range(0, len(seeds), seed_chunk):
        chunk = seeds[start:start + seed_chunk]
        keys = jnp.stack([seed_key(s) for s in chunk])
        A, y, kinit = jax.vmap(lambda k: _dataset(problem, d, n, k))(keys)
        if problem.init.kind == "spectral":
            A_np, y_np = np.asarray(A), np.asarray(y)
            w0 = jnp.asarray(np.stack([_spectral_start(problem, A_np[j], y_np[j]) for j in range(len(chunk))]))
        else:
            w0 = jax.vmap(lambda k: _independent_start(problem, d, k))(kinit)
        out.append([np.asarray(x) for x in _gd_chunk(problem, A, y, n_steps, w0)])
        del A
        if progress is not None:
            progress(min(1.0, (start + len(chunk)) / len(seeds)))
    m, q, train = (np.concatenate([o[i] for o in out]) for i in range(3))
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(q)) and np.all(np.isfinite(train))):
        raise MimflowError("finite-d GD diverged (NaN/inf): lower lr or raise ridge")
    test = test_error(problem, m, q)
    return GDTrajectory(np.arange(n_steps + 1), seeds, m, q, train, test, d, n)
