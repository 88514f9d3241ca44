r"""Probabilists' Hermite polynomials, plain and orthonormal.

Conventions (docs/conventions.md §0):

.. math::

    He_0 = 1,\quad He_1 = z,\quad He_{k+1}(z) = z\,He_k(z) - k\,He_{k-1}(z),
    \qquad h_k = He_k/\sqrt{k!},\quad \mathbb{E}_{z\sim N(0,1)}[h_j h_k] = \delta_{jk}.

The orthonormal family is evaluated with the recurrence on the *normalised* polynomials,

.. math::

    h_{k+1}(z) = \frac{z\,h_k(z) - \sqrt{k}\,h_{k-1}(z)}{\sqrt{k+1}},

which stays within floating-point range to degree well beyond 200 for every ``|z| <= 40``
(``He_k`` itself overflows float64 near ``k = 200, z = 40``). All functions here are
jit-, vmap- and grad-able; ``k_max`` is static.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError

MAX_DEGREE = 400
"""Largest degree accepted by the evaluators (a guard against typos such as ``k_max=10**6``)."""


def check_degree(k_max: int) -> int:
    """``int(k_max)`` for an integer degree ``0 <= k_max <= MAX_DEGREE``; else a one-line :class:`MimflowError`."""
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)):
        raise MimflowError(f"degree must be an integer, got {k_max!r}")
    if not 0 <= k_max <= MAX_DEGREE:
        raise MimflowError(f"degree must be between 0 and {MAX_DEGREE}, got {k_max}")
    return int(k_max)


UNROLL_MAX_DEGREE = 16
"""Up to this degree the three-term recurrence of :func:`hermite_normalized` is unrolled at trace time."""


def hermite_normalized(z, k_max: int) -> jax.Array:
    r"""Orthonormal Hermite polynomials :math:`h_0(z), \dots, h_{k_{max}}(z)`.

    Args:
        z: array of any shape ``(...)``.
        k_max: highest degree (static).

    Returns:
        Array of shape ``(..., k_max + 1)``; the last axis is the degree.

    Example:
        >>> import jax.numpy as jnp
        >>> hermite_normalized(jnp.array(2.0), 2)  # 1, 2, (4 - 1)/sqrt(2)
        Array([1.        , 2.        , 2.12132034], dtype=float64)
    """
    k_max = check_degree(k_max)
    z = jnp.asarray(z, dtype=jnp.float64)
    h0 = jnp.ones_like(z)
    if k_max == 0:
        return h0[..., None]
    h1 = z

    def step(carry, k):
        h_prev, h_cur = carry
        h_next = (z * h_cur - jnp.sqrt(k) * h_prev) / jnp.sqrt(k + 1.0)
        return (h_cur, h_next), h_next

    ks = jnp.arange(1, k_max, dtype=jnp.float64)
    # fully unrolled for low degrees: no while loop in the program, so the recurrence fuses with its
    # neighbours (a loop per call costs ~1 us inside a per-step training loop)
    _, rest = jax.lax.scan(step, (h0, h1), ks, unroll=k_max <= UNROLL_MAX_DEGREE)  # (k_max - 1, ...)
    rest = jnp.moveaxis(rest, 0, -1)
    return jnp.concatenate([h0[..., None], h1[..., None], rest], axis=-1)


def hermite_he(z, k_max: int) -> jax.Array:
    r"""Probabilists' Hermite polynomials :math:`He_0(z), \dots, He_{k_{max}}(z)`.

    Computed as :math:`\sqrt{k!}\,h_k(z)`, so the only overflow is where the true value
    exceeds the float64 range.

    Returns:
        Array of shape ``(..., k_max + 1)``.

    Example:
        >>> import jax.numpy as jnp
        >>> hermite_he(jnp.array(2.0), 3)  # 1, z, z^2 - 1, z^3 - 3z
        Array([1., 2., 3., 2.], dtype=float64)
    """
    k_max = check_degree(k_max)
    scale = jnp.sqrt(jnp.exp(jax.scipy.special.gammaln(jnp.arange(k_max + 1.0) + 1.0)))
    h = hermite_normalized(z, k_max)
    return h * jnp.broadcast_to(scale, h.shape)


def hermite_he_at_zero(k: int) -> float:
    r""":math:`He_k(0)`: ``0`` for odd k, :math:`(-1)^{k/2}(k-1)!!` for even k."""
    if k % 2:
        return 0.0
    j = k // 2
    return (-1.0) ** j * math.exp(math.lgamma(2 * j + 1) - j * math.log(2.0) - math.lgamma(j + 1))


def normalized_he_at_zero_ratio(k: int, shift: int) -> float:
    r""":math:`He_{k}(0)/\sqrt{(k+\mathrm{shift})!}`, computed in log space (no overflow at k = 400)."""
    if k % 2:
        return 0.0
    j = k // 2
    log_abs = math.lgamma(2 * j + 1) - j * math.log(2.0) - math.lgamma(j + 1) - 0.5 * math.lgamma(k + shift + 1)
    return (-1.0) ** j * math.exp(log_abs)
