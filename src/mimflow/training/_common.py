"""What the reduced and the d-dimensional engines share: the teacher factor, labels, link refits and
the SGD step of the algorithm's parameters (:mod:`mimflow.training._reduced`, :mod:`mimflow.training._full`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow.training._algorithm import TrainingAlgorithm


def _constants(algo: TrainingAlgorithm):
    L_P = np.linalg.cholesky(algo.teacher_gram)
    return jnp.asarray(L_P), jnp.asarray(np.linalg.inv(L_P)), jnp.asarray(L_P.T)


def _labels(algo, Z, key):
    y = algo.labels(Z)
    if algo.noise > 0:
        y = y + algo.noise * jax.random.normal(key, y.shape, dtype=jnp.float64)
    return y

def _identity_teacher(algo: TrainingAlgorithm) -> bool:
    return bool(np.array_equal(np.asarray(algo.teacher_gram), np.eye(algo.r)))

def _maybe_refit_fresh(algo, step, params, key, sample, overlaps=None):
    """Refit the link on a fresh batch every ``refit_every`` steps (``sample(key, n) -> (Z, lam)``); with
    ``link_fit="moments"`` from a draw of the batch's statistics given ``overlaps() -> (M, Q)``."""
    if algo.fit is None or algo.link_fit not in ("fresh", "moments"):
        return params

    def refit(params):
        if algo.link_fit == "moments":
            M, Q = overlaps()
            return algo.fit_overlaps(params, M, Q, key)
        k1, k2 = jax.random.split(key)
        Z, lam = sample(k1, algo.fit_batch)
        return algo.fit(params, lam, _labels(algo, Z, k2))

    if algo.refit_every == 1:
        return refit(params)
    return jax.lax.cond(step % algo.refit_every == 0, refit, lambda q: q, params)


def _after_step_fit(algo, step, params, lam, y):
    if algo.fit is None or algo.link_fit != "running":
        return params
    if algo.refit_every == 1:
        return algo.fit(params, lam, y)
    return jax.lax.cond(step % algo.refit_every == 0, lambda q: algo.fit(q, lam, y), lambda q: q, params)


def _sgd_params(params, grads, eta):
    return jax.tree_util.tree_map(lambda a, g: a - eta * g, params, grads)
