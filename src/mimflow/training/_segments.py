"""The compiled segments of the training drivers: blocks of pre-drawn randomness, one jitted loop per segment.

See the module docstring of :mod:`mimflow.training._online` (mechanics and speed).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401
from mimflow.training._full import FullState, full_initial, full_overlaps, full_step_from, full_step_samples, retract_weights_batch
from mimflow.training._reduced import (
    ReducedState,
    reduced_block_randomness,
    reduced_initial,
    reduced_numbers_per_step,
    reduced_step_from,
)

BLOCK_NUMBERS = 1 << 17
"""Size (float64 numbers, 1 MiB) of the per-block buffer of pre-drawn randomness (all seeds): small
enough to stay in cache (a 40 MiB buffer made threefry 4x slower per number here)."""
MAX_BLOCK_STEPS = 1024


def block_steps(numbers_per_seed_step: int, seeds: int, cap: int = MAX_BLOCK_STEPS) -> int:
    """Steps per block of pre-drawn randomness: as many as fit in :data:`BLOCK_NUMBERS` (1 to ``cap``)."""
    return int(max(1, min(cap, BLOCK_NUMBERS // max(1, numbers_per_seed_step * seeds))))


BLOCK_RATIO = 16
"""Ratio between the successive block lengths a segment chooses from (``L, L/16, ..., 1``)."""


def _blocked_loop(step0, n, states, length: int, draw, step_all):
    """Advance ``states`` by ``n`` steps from ``step0``, by blocks of pre-drawn randomness.

    Per block of ``m`` steps, ``draw(states, steps)`` returns the block's randomness with the step axis
    first, and a ``fori_loop`` feeds its slices to ``step_all(step, states, slice)``. ``m`` is the
    largest of ``length, length/16, ..., 1`` not above the steps left (a ``lax.switch`` between
    programs of those static lengths), so no drawn number is wasted however short the segment.
    """
    end = step0 + n
    lengths = [length]
    while lengths[-1] > 1:
        lengths.append(max(1, lengths[-1] // BLOCK_RATIO))

    def run(m):
        def go(s, st):
            rand = draw(st, s + jnp.arange(m, dtype=s.dtype))
            body = lambda i, st: step_all(s + i, st, jax.tree_util.tree_map(lambda a: a[i], rand))  # noqa: E731
            return s + m, jax.lax.fori_loop(0, m, body, st)
        return go

    branches = [run(m) for m in lengths]

    def block(carry):
        s, st = carry
        left = end - s
        index = sum((left < m).astype(jnp.int32) for m in lengths[:-1])  # first length <= left
        return jax.lax.switch(index, branches, s, st)

    return jax.lax.while_loop(lambda c: c[0] < end, block, (step0, states))


@partial(jax.jit, static_argnames=("algo", "batch"))
def _reduced_segment(algo, batch, d, eta, step0, n, states):
    """``n`` steps of the reduced chain for all seeds from ``step0``; returns ``(step, states)``.

    The state-independent randomness (:func:`~mimflow.training._reduced.reduced_block_randomness`) is drawn
    per block of steps for all seeds at once (vectorised threefry and chi-square rejection loop), outside
    the step loop; the steps then only do small arithmetic. The numbers of a step depend only on its
    seed's key and step index, not on the blocks.
    """
    length = block_steps(reduced_numbers_per_step(algo, batch), states.M.shape[0])
    step_all = jax.vmap(lambda s, st, rand: reduced_step_from(algo, d, eta, batch, s, st, *rand), in_axes=(None, 0, 0))

    def draw(st, steps):
        return reduced_block_randomness(algo, batch, d, st.key, steps)  # (L, S, ...): a step's slice is contiguous

    return _blocked_loop(step0, n, states, length, draw, step_all)


@partial(jax.jit, static_argnames=("algo", "batch", "d", "sample_dtype"))
def _full_segment(algo, batch, d, eta, step0, n, states, sample_dtype=jnp.float64):
    """``n`` SGD steps on ``d``-dimensional samples for all seeds from ``step0``; returns ``(step, states)``.

    The samples of a block of steps are drawn at once for all seeds (``(L, S, B, d)``, per-step keys
    ``fold_in(seed_key, step)``, so the numbers are those of a draw per step), then each step updates
    every seed and retracts all seeds together (:func:`~mimflow.training._full.retract_weights_batch`).
    """
    length = block_steps(batch * d, states.W.shape[0], cap=256)
    per_seed = jax.vmap(lambda k, s: full_step_samples(d, batch, k, s, sample_dtype), in_axes=(0, None))
    per_step = jax.vmap(per_seed, in_axes=(None, 0))
    step_all = jax.vmap(lambda s, st, X: full_step_from(algo, d, eta, batch, s, st, X), in_axes=(None, 0, 0))

    def step_and_retract(s, st, X):
        W, params, key = step_all(s, st, X)
        return FullState(retract_weights_batch(algo.constraint, W), params, key)

    return _blocked_loop(step0, n, states, length, lambda st, steps: per_step(st.key, steps), step_and_retract)


@partial(jax.jit, static_argnames=("algo",))
def _reduced_init(algo, d, init_keys, run_keys):
    M, Q = jax.vmap(lambda k: reduced_initial(algo, d, k))(init_keys)
    params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (init_keys.shape[0],) + a.shape),
                                    algo.params0)
    return ReducedState(M, Q, params, run_keys)


@partial(jax.jit, static_argnames=("algo", "d"))
def _full_init(algo, d, init_keys, run_keys):
    W = jax.vmap(lambda k: full_initial(algo, d, k))(init_keys)
    params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (init_keys.shape[0],) + a.shape),
                                    algo.params0)
    return FullState(W, params, run_keys)


@partial(jax.jit, static_argnames=("algo",))
def _observe(algo, M, Q, params):
    risk = jax.vmap(algo.risk)(M, Q, params)
    return risk


@partial(jax.jit, static_argnames=("algo",))
def _full_observe(algo, W):
    return jax.vmap(lambda w: full_overlaps(algo, w))(W)
