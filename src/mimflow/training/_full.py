"""The d-dimensional engine of online SGD and full-batch GD: Gaussian samples in R^d, the update and the retraction.

Same algorithm, initial law and randomness convention as the reduced chain (module docstring of
:mod:`mimflow.training._reduced`): step ``s`` of a seed draws its ``(B, d)`` samples from ``fold_in(seed_key, s)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401
from mimflow._linalg import inverse_sqrt
from mimflow.training._algorithm import TrainingAlgorithm
from mimflow.training._common import (
    _after_step_fit,
    _constants,
    _identity_teacher,
    _labels,
    _maybe_refit_fresh,
    _sgd_params,
)
from mimflow.training._linalg import _bmm, _mm


class FullState(NamedTuple):
    W: jax.Array  # (d, p)
    params: dict
    key: jax.Array


def retract_weights(constraint: str, W):
    """Polar retraction (Stiefel), column normalisation (sphere) or nothing (free)."""
    if constraint == "stiefel":
        return W @ inverse_sqrt(W.T @ W)
    if constraint == "sphere":
        return W / jnp.linalg.norm(W, axis=0)[None, :]
    return W


def full_initial(algo: TrainingAlgorithm, d: int, key):
    Zw = jax.random.normal(key, (d, algo.p), dtype=jnp.float64)
    if algo.constraint == "stiefel":
        return retract_weights("stiefel", Zw)
    return Zw / jnp.linalg.norm(Zw, axis=0)[None, :]


def full_overlaps(algo: TrainingAlgorithm, W):
    """``M = W*^T W = U^T W_{:r}`` and ``Q = W^T W``."""
    _, _, U = _constants(algo)
    return U.T @ W[: algo.r], W.T @ W


def full_step_samples(d: int, batch: int, seed_key, step, sample_dtype=jnp.float64):
    """The ``(B, d)`` Gaussian samples of step ``step`` of one seed, from ``fold_in(seed_key, step)``, in
    ``sample_dtype`` (the engine draws them for a block of steps and all seeds at once)."""
    return jax.random.normal(jax.random.fold_in(seed_key, step), (batch, d), dtype=sample_dtype)


def full_step_from(algo: TrainingAlgorithm, d: int, eta, batch: int, step, state: FullState, X) -> FullState:
    """One SGD step of one seed on its samples ``X (B, d)`` (:func:`full_step_samples`), *before* the
    retraction (the engine retracts all seeds at once, :func:`retract_weights_batch`)."""
    W, params, seed_key = state
    X = X.astype(jnp.float64)
    k_x = jax.random.fold_in(seed_key, step)
    k_fit, k_noise = jax.random.fold_in(k_x, 1), jax.random.fold_in(k_x, 2)
    r = algo.r
    identity = _identity_teacher(algo)
    _, _, U = _constants(algo)

    def fields(X):
        return (X[:, :r] if identity else _mm(X[:, :r], U)), X @ W

    def sample(k, n):
        return fields(jax.random.normal(k, (n, d), dtype=jnp.float64))

    params = _maybe_refit_fresh(algo, step, params, k_fit, sample, lambda: full_overlaps(algo, W))
    Z, lam = fields(X)
    y = _labels(algo, Z, k_noise)
    A, grads = algo.coefficients(params, lam, y)
    W_new = W - (eta / batch) * _mm(X.T, A)
    params = _after_step_fit(algo, step, _sgd_params(params, grads, eta), lam, y)
    return FullState(W_new, params, seed_key)


def full_step(algo: TrainingAlgorithm, d: int, eta, batch: int, step, state: FullState, *, sample_dtype=jnp.float64) -> FullState:
    """One SGD step on ``d``-dimensional Gaussian samples for one seed (samples, step, retraction)."""
    X = full_step_samples(d, batch, state.key, step, sample_dtype)
    W, params, key = full_step_from(algo, d, eta, batch, step, state, X)
    return FullState(retract_weights(algo.constraint, W), params, key)


def retract_weights_batch(constraint: str, W):
    """:func:`retract_weights` of all seeds at once, ``W (S, d, p)``: the Stiefel polar factor
    ``W (W^T W)^{-1/2}`` with ``W (p x p)`` products written elementwise (:func:`_bmm`; measured ~2x faster
    than a batched ``dot_general`` on CPU). The ``p x p`` ``eigh`` costs ~1 us per seed here."""
    if constraint != "stiefel" or W.shape[-1] == 1:
        return jax.vmap(lambda w: retract_weights(constraint, w))(W)
    S = jnp.einsum("sdp,sdq->spq", W, W)
    return _bmm(W, jax.vmap(inverse_sqrt)(S))


def full_batch_step(algo: TrainingAlgorithm, eta, X, Z, y, step, W, params):
    """One full-batch GD step on a fixed sample ``X (n, d)`` (labels ``y``); the link is refitted on it."""
    lam = X @ W
    if algo.fit is not None:
        params = (algo.fit(params, lam, y) if algo.link_fit in ("fresh", "moments")
                  else _after_step_fit(algo, step, params, lam, y))
    A, grads = algo.coefficients(params, lam, y)
    n = X.shape[0]
    W_new = W - (eta / n) * (X.T @ A)
    return retract_weights(algo.constraint, W_new), _sgd_params(params, grads, eta)
