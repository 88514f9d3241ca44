r"""Exact finite-d initial overlaps for a random student: the one Haar/Bartlett sampler of :mod:`mimflow.dynamics`.

For :math:`W \sim` Haar on :math:`\mathrm{St}(d, p)` and a fixed :math:`W_* \in \mathrm{St}(d, r)`, the law of
:math:`M = W_*^T W` is sampled exactly in :math:`O((r+p)^3)` without any d-dimensional array:
by rotation invariance take :math:`W_* = [I_r; 0]` and :math:`W = Z (Z^T Z)^{-1/2}` with
:math:`Z \in \mathbb{R}^{d\times p}` standard Gaussian (the polar factor of a Gaussian matrix is
Haar). Split :math:`Z = [Z_1; Z_2]` with :math:`Z_1 \in \mathbb{R}^{r\times p}`; then
:math:`Z^T Z = Z_1^T Z_1 + A` with :math:`A = Z_2^T Z_2 \sim \mathrm{Wishart}_p(d - r, I)`,
independent of :math:`Z_1`, sampled by the Bartlett decomposition :math:`A = L L^T`,
:math:`L_{ii} = \sqrt{\chi^2_{d-r-i}}` (i = 0..p-1), :math:`L_{ij} \sim N(0,1)` below the diagonal. So

.. math::  M = Z_1 \,(Z_1^T Z_1 + L L^T)^{-1/2},\qquad \mathbb{E}[M_{ij}^2] = 1/d .

:func:`haar_overlaps` / :func:`haar_overlaps_batch` draw this law (JAX keys). A student of ``n``
independent neurons, each uniform on the sphere (docs/math/neurons.md §2.2), is ``n`` draws with one
student column (``p = 1``: :math:`L L^T = \chi^2_{d-r}`, so :math:`u = z/\sqrt{|z|^2 + \chi^2_{d-r}}`),
against index vectors ``V = U R`` of any Gram matrix :math:`Q = R^T R` (``r = rank Q``, ``U``
orthonormal): :math:`m = R^T u`, :math:`\mathbb{E}[m m^T] = Q/d`. :func:`neuron_initial_overlaps` draws
that case with NumPy (seed convention there).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow._linalg import inverse_sqrt
from mimflow._seeds import seed_generator, seed_keys
from mimflow.dynamics._correlation import check_gram, gram_factor


def _check_dims(d, r, p) -> None:
    for name, value in (("d", d), ("r", r), ("student rank p", p)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise MimflowError(f"{name} must be a positive integer, got {value!r}")
    if d < r + p:
        raise MimflowError(f"d = {d} is too small: need d >= r + p = {r + p} (teacher rank {r}, student rank {p})")


def haar_overlaps(d: int, r: int, p: int, *, key) -> jax.Array:
    """One draw of ``M = W*^T W`` (shape ``(r, p)``) for ``W`` Haar on ``St(d, p)`` (exact law, any d).

    Example:
        >>> import jax
        >>> haar_overlaps(10**6, 2, 3, key=jax.random.PRNGKey(0)).shape
        (2, 3)
    """
    _check_dims(d, r, p)
    return _haar_overlaps(jnp.float64(d), r, p, key)


def haar_overlaps_batch(d: int, r: int, p: int, seeds, *, streams: tuple[int, ...] = ()) -> jax.Array:
    """``(S, r, p)`` independent draws, one per integer seed: seed ``s`` uses ``seed_key(s, *streams)``
    (the seed convention, docs/conventions.md; ``streams=(d,)`` makes the draws independent across ``d``)."""
    _check_dims(d, r, p)
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    return _haar_overlaps_many(jnp.float64(d), r, p, seed_keys(seeds, *streams))


@partial(jax.jit, static_argnames=("r", "p"))
def _haar_overlaps_many(d, r: int, p: int, keys) -> jax.Array:
    return jax.vmap(lambda k: _haar_overlaps(d, r, p, k))(keys)


@partial(jax.jit, static_argnames=("r", "p"))
def _haar_overlaps(d, r: int, p: int, key) -> jax.Array:
    k1, k2, k3 = jax.random.split(key, 3)
    Z1 = jax.random.normal(k1, (r, p), dtype=jnp.float64)
    dof = (d - r) - jnp.arange(p, dtype=jnp.float64)  # chi^2 degrees of freedom of L_ii^2
    chi2 = 2.0 * jax.random.gamma(k2, dof / 2.0, dtype=jnp.float64)
    below = jnp.tril(jax.random.normal(k3, (p, p), dtype=jnp.float64), k=-1)
    L = below + jnp.diag(jnp.sqrt(chi2))
    return Z1 @ inverse_sqrt(Z1.T @ Z1 + L @ L.T)


def neuron_initial_overlaps(Q, d: int, n: int, seeds, *, salt: int = 0) -> np.ndarray:
    """``(S, n, k)`` exact initial overlaps :math:`m = V^T w`, ``w`` uniform on :math:`S^{d-1}` (module docstring).

    One draw per neuron. Seed ``s`` draws from ``seed_generator(s, salt)`` (docs/conventions.md)
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
        rng = seed_generator(seed, salt)
        z = rng.standard_normal((n, r))
        rest = rng.chisquare(d - r, n)  # |z_{r+1..d}|^2
        out[i] = z / np.sqrt(np.sum(z * z, axis=1) + rest)[:, None]
    return out @ R
