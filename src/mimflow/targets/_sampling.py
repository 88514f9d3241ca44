r"""Drawing labelled Gaussian data from a target.

.. math::

    x_i \overset{iid}{\sim} N(0, I_d),\qquad
    y_i = f^*(x_i) + \texttt{noise\_std}\,\xi_i,\quad \xi_i \overset{iid}{\sim} N(0, 1),

with :math:`f^*` the target's :meth:`clean`. Everything is float64 and driven by explicit
JAX keys (keyword-only, last): the same key gives the same numbers.

Key use, fixed so that streams are reproducible: ``sample`` splits ``key`` into
``(key_x, key_noise)``; ``X`` comes from ``key_x`` and the noise from ``key_noise``, and the
noise is always drawn, so ``X`` does not depend on ``noise_std`` (targets differing only in
noise see the same inputs). :func:`sample_batches` gives batch ``b`` the key
``jax.random.fold_in(key, b)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.targets._target_base import AbstractTarget

__all__ = ["sample", "sample_batches"]


def _check_count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise MimflowError(f"{name} must be an integer >= 1, got {value!r}: pass int({name})")
    if value < 1:
        raise MimflowError(f"{name} must be >= 1, got {value!r}: ask for at least one sample")
    return int(value)


def _check_target(target) -> None:
    if not isinstance(target, AbstractTarget):
        raise MimflowError(
            f"target must be a SingleIndex, MultiIndex or SumOfNeurons, got {type(target).__name__}: build one with single_index/multi_index/sum_of_neurons"
        )


@partial(jax.jit, static_argnames=("n", "d"))
def _gaussians(key, n: int, d: int) -> tuple[Float[Array, "n d"], Float[Array, " n"]]:
    # One compiled call per (n, d) rather than one per random op: eager jax.random compiles
    # each op for each new shape, which dominated the cost of small samples.
    key_x, key_noise = jax.random.split(key)
    X = jax.random.normal(key_x, (n, d), dtype=jnp.float64)
    noise = jax.random.normal(key_noise, (n,), dtype=jnp.float64)
    return X, noise


def _draw(target: AbstractTarget, n: int, key) -> tuple[Float[Array, "n d"], Float[Array, " n"]]:
    # The link is evaluated outside jit: callable links need not be JAX-traceable.
    X, noise = _gaussians(key, n, target.d)
    y = target.clean(X) + target.noise_std * noise
    return X, y


def sample(target: AbstractTarget, n: int, *, key) -> tuple[Float[Array, "n d"], Float[Array, " n"]]:
    r"""Draw ``n`` labelled samples :math:`(x_i, y_i)` from ``target``.

    .. math::

        x_i \sim N(0, I_d),\qquad y_i = f^*(x_i) + \texttt{noise\_std}\,\xi_i,\ \xi_i \sim N(0, 1).

    Args:
        target: a :class:`SingleIndex`, :class:`MultiIndex` or :class:`SumOfNeurons`.
        n: number of samples, an integer ``>= 1``.
        key: JAX PRNG key (split into an input key and a noise key).

    Returns:
        ``(X, y)``: ``X`` of shape ``(n, d)``, ``y`` of shape ``(n,)``, both float64.

    Example:
        >>> import jax
        >>> from mimflow.targets import single_index
        >>> t = single_index("h2", 4, key=jax.random.key(0))
        >>> X, y = sample(t, 3, key=jax.random.key(1))
        >>> X.shape, y.shape
        ((3, 4), (3,))
    """
    _check_target(target)
    n = _check_count("n", n)
    return _draw(target, n, key)


def sample_batches(
    target: AbstractTarget, n: int, batch_size: int, *, key
) -> Iterator[tuple[Float[Array, "batch d"], Float[Array, " batch"]]]:
    r"""Yield ``n`` samples from ``target`` in batches of ``batch_size``, lazily.

    Batch ``b`` (``b = 0, 1, ...``) is ``sample(target, size_b, key=jax.random.fold_in(key, b))``
    with ``size_b = min(batch_size, n - b * batch_size)``: only the last batch may be smaller.
    The stream is reproducible, and batch ``b`` does not depend on how many batches are
    consumed; at most one batch is held at a time.

    Args:
        target: a :class:`SingleIndex`, :class:`MultiIndex` or :class:`SumOfNeurons`.
        n: total number of samples, an integer ``>= 1``.
        batch_size: samples per batch, an integer ``>= 1``.
        key: JAX PRNG key.

    Returns:
        A generator of ``(X, y)``, ``X`` of shape ``(size_b, d)`` and ``y`` of shape ``(size_b,)``.
        The arguments are checked when ``sample_batches`` is called, not at the first batch.

    Example:
        >>> import jax
        >>> from mimflow.targets import single_index
        >>> t = single_index("relu", 4, key=jax.random.key(0))
        >>> [X.shape[0] for X, y in sample_batches(t, 10, 4, key=jax.random.key(1))]
        [4, 4, 2]

    Warning:
        The concatenated batches are *not* equal to ``sample(target, n, key=key)``: the two
        use their keys differently. Each is reproducible on its own.
    """
    _check_target(target)
    n = _check_count("n", n)
    batch_size = _check_count("batch_size", batch_size)
    return _batches(target, n, batch_size, key)


def _batches(target: AbstractTarget, n: int, batch_size: int, key):
    n_batches = -(-n // batch_size)
    for b in range(n_batches):
        size = min(batch_size, n - b * batch_size)
        yield _draw(target, size, jax.random.fold_in(key, b))
