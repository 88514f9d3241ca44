r"""Haar-random orthonormal frames: :func:`haar_stiefel`, uniform on the Stiefel manifold."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.targets._target_checks import _check_positive_int


def haar_stiefel(key, d: int, r: int) -> Float[Array, "d r"]:
    r"""Draw :math:`W` uniformly (Haar) on the Stiefel manifold :math:`\mathrm{St}(d, r)`.

    .. math::

        G \sim N(0, 1)^{d \times r},\quad G = QR\ (\text{reduced QR}),\quad
        W = Q\,\mathrm{diag}(\mathrm{sign}\,R_{jj}).

    The sign fix makes the factorisation unique (``R`` with a positive diagonal), so that
    :math:`W(OG) = O\,W(G)` for every orthogonal :math:`O`; since :math:`OG \overset{d}{=} G`,
    :math:`OW \overset{d}{=} W`, i.e. the law is exactly Haar. Without it the law depends on
    the LAPACK sign convention (e.g. ``W[0, 0]`` always of one sign).

    Args:
        key: a JAX PRNG key (positional first, like ``jax.random`` samplers).
        d: rows, a positive integer.
        r: columns, ``1 <= r <= d``.

    Returns:
        ``W`` of shape ``(d, r)``, float64, :math:`W^\top W = I_r` to rounding.

    Example:
        >>> import jax
        >>> W = haar_stiefel(jax.random.key(0), 5, 2)
        >>> W.shape
        (5, 2)

    References:
        F. Mezzadri, "How to generate random matrices from the classical compact groups",
        Notices AMS 54(5), 2007, arXiv:math-ph/0609050, Sec. 5 (the sign correction);
        Y. Chikuse, *Statistics on Special Manifolds*, Springer 2003, Thm 2.2.1.

    Warning:
        The key comes first here (as in ``jax.random.normal(key, shape)``), unlike the
        target factories, where it is keyword-only and last.
    """
    d = _check_positive_int("d", d)
    r = _check_positive_int("r", r)
    if r > d:
        raise MimflowError(f"haar_stiefel needs r <= d, got d = {d}, r = {r}: at most d orthonormal columns fit in R^d")
    return _haar_stiefel(key, d, r)


@partial(jax.jit, static_argnames=("d", "r"))
def _haar_stiefel(key, d: int, r: int) -> Float[Array, "d r"]:
    # Compiled once per (d, r): eager jax.random/linalg ops would compile op by op.
    G = jax.random.normal(key, (d, r), dtype=jnp.float64)
    Q, R = jnp.linalg.qr(G, mode="reduced")
    signs = jnp.sign(jnp.diagonal(R))
    signs = jnp.where(signs == 0, 1.0, signs)  # probability zero; keep W orthonormal anyway
    return Q * signs[None, :]
