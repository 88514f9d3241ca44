r"""One seed convention: a user seed, plus the streams that separate independent draws, to a PRNG state.

Every engine of mimflow turns a user seed ``s`` into its random numbers through this module
(docs/conventions.md, "seeds"):

* JAX: ``seed_key(s, *streams)`` is ``fold_in(...fold_in(fold_in(PRNGKey(0), stream_1)..., stream_k), s)``:
  the root key ``PRNGKey(0)``, folded with each stream in turn, then with the seed;
* NumPy: ``seed_generator(s, *streams)`` is ``default_rng(SeedSequence([stream_1, ..., stream_k, s]))``:
  the same order, streams first, then the seed.

A *stream* is an integer naming what is drawn when one seed needs several independent draws that
must not depend on each other: the dimension ``d`` of a flow (so seeds are independent across
``d``), a fixed salt of an engine. Seed ``s`` of a batch gives the same numbers whatever the batch,
chunk or device, because each seed's key depends on nothing but ``(streams, s)``.
"""

from __future__ import annotations

import numpy as np

from mimflow._lazy_exports import lazy_module

jax = lazy_module("jax")  # the NumPy half (theory's statistics) must not import JAX (tests/test_startup.py)

__all__ = ["ROOT_SEED", "seed_generator", "seed_key", "seed_keys"]

ROOT_SEED = 0
"""The root key is ``jax.random.PRNGKey(ROOT_SEED)``."""


def seed_key(seed, *streams: int) -> jax.Array:
    """The JAX key of user seed ``seed`` in stream ``streams`` (raw ``uint32[2]`` key, jit/vmap-safe in ``seed``).

    Example:
        >>> import jax
        >>> bool((seed_key(3) == jax.random.fold_in(jax.random.PRNGKey(0), 3)).all())
        True
    """
    key = jax.random.PRNGKey(ROOT_SEED)
    for stream in streams:
        key = jax.random.fold_in(key, stream)
    return jax.random.fold_in(key, seed)


def seed_keys(seeds, *streams: int) -> jax.Array:
    """``(S, 2)`` keys of the seeds ``seeds`` (shape ``(S,)``), each :func:`seed_key` ``(s, *streams)``."""
    return jax.vmap(lambda s: seed_key(s, *streams))(jax.numpy.asarray(seeds, dtype=jax.numpy.uint32))


def seed_generator(seed: int, *streams: int) -> np.random.Generator:
    """The NumPy generator of user seed ``seed`` in stream ``streams``: ``default_rng(SeedSequence([*streams, seed]))``.

    Example:
        >>> float(seed_generator(5).random()) == float(np.random.default_rng(5).random())
        True
    """
    return np.random.default_rng(np.random.SeedSequence([*(int(s) for s in streams), int(seed)]))
