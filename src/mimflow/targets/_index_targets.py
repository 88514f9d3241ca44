r"""Single- and multi-index targets :math:`f^*(x) = f(W^{*\top} x)` (docs/math/grassmannian-flow.md §1.2).

The classes are immutable :class:`equinox.Module` pytrees (:mod:`mimflow.targets._target_base`);
the factories :func:`single_index` and :func:`multi_index` draw the directions Haar-uniformly.
"""

from __future__ import annotations

from functools import partial
from typing import final

import equinox as eqx
import numpy as np
from jaxtyping import Array, Float

from mimflow._errors import MimflowError
from mimflow.targets._links import Link, make_link
from mimflow.targets._stiefel import haar_stiefel
from mimflow.targets._target_base import AbstractTarget, _check_input
from mimflow.targets._target_checks import (
    UNIT_TOL,
    _as_float64,
    _check_dims_exceed_r,
    _check_finite_array,
    _check_link_r,
    _check_noise_std,
    _check_orthonormal_columns,
    _check_positive_int,
    _is_traced,
)


@final
class SingleIndex(AbstractTarget):
    r"""Single-index target :math:`f^*(x) = f(w^{*\top} x)` with a unit direction.

    .. math::

        y = f(\langle w^*, x\rangle) + \texttt{noise\_std}\,\xi,\qquad \|w^*\|_2 = 1,

    ``f`` is ``link`` (one variable) and :math:`w^*` is ``w_star``; ``d`` is read off
    ``w_star``. Build one with a Haar-random direction via :func:`single_index`.

    Args:
        link: anything :func:`~mimflow.make_link` accepts, with one variable (``"h2"``, ``"relu"``, ...).
        w_star: shape ``(d,)``, unit norm (to 1e-8), ``d >= 2``.
        noise_std: standard deviation of the additive Gaussian label noise, finite, ``>= 0``.

    Attributes:
        d, r, link, w_star, W_star, noise_std: ``r = 1``, ``w_star`` of shape ``(d,)``, ``W_star`` ``(d, 1)``.

    Example:
        >>> import jax.numpy as jnp
        >>> t = SingleIndex("h2", jnp.array([0.6, 0.8]))
        >>> t.d, t.r, t.W_star.shape
        (2, 1, (2, 1))
        >>> float(t.clean(jnp.array([[0.6, 0.8]]))[0])  # h2(1) = (1 - 1)/sqrt(2)
        0.0

    References:
        Bietti, Bruna, Pillaud-Vivien, "On Learning Gaussian Multi-index Models with Gradient
        Flow", arXiv:2310.19793 (2023), Sec. 2 setup with r = 1 (docs/math/grassmannian-flow.md §1.2).
    """

    link: Link = eqx.field(static=True, converter=make_link)
    w_star: Float[Array, " d"] = eqx.field(converter=partial(_as_float64, name="w_star"))
    noise_std: Float[Array, ""] = eqx.field(default=0.0, converter=partial(_as_float64, name="noise_std"))

    def __check_init__(self):
        if self.link.r != 1:
            raise MimflowError(
                f"link {self.link.name!r} has r = {self.link.r} variables: a SingleIndex needs a one-variable link; use MultiIndex/multi_index"
            )
        _check_noise_std(self.noise_std)
        if self.w_star.ndim != 1:
            raise MimflowError(f"w_star must have shape (d,), got {self.w_star.shape}: pass a 1-D array (e.g. w_star.ravel())")
        _check_dims_exceed_r("w_star", self.w_star.shape[0], 1)
        if _is_traced(self.w_star):
            return
        _check_finite_array("w_star", self.w_star)
        norm = float(np.linalg.norm(np.asarray(self.w_star)))
        if abs(norm - 1.0) > UNIT_TOL:
            raise MimflowError(f"w_star must have unit norm, got ||w_star|| = {norm!r}: normalise it (w_star / norm(w_star))")

    @property
    def d(self) -> int:
        return self.w_star.shape[0]

    @property
    def r(self) -> int:
        return 1

    @property
    def W_star(self) -> Float[Array, "d 1"]:
        return self.w_star[:, None]

    def clean(self, X: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Noiseless labels :math:`f(w^{*\\top} x)` for ``X`` of shape ``(..., d)``; returns ``(...)``."""
        X = _check_input(X, self.d)
        return self.link.fn((X @ self.w_star)[..., None])


@final
class MultiIndex(AbstractTarget):
    r"""Multi-index target :math:`f^*(x) = f(W^{*\top} x)` with :math:`W^* \in \mathrm{St}(d, r)`.

    .. math::

        y = f(W^{*\top} x) + \texttt{noise\_std}\,\xi,\qquad W^{*\top} W^* = I_r,\quad d > r,

    ``f`` is ``link`` (``r`` variables, ``z (..., r) -> (...)``) and :math:`W^*` is ``W_star``.
    Since the columns are orthonormal, :math:`z = W^{*\top} x \sim N(0, I_r)`, so the link's
    Hermite spectrum is the target's. Build one with Haar directions via :func:`multi_index`.

    Args:
        link: anything :func:`~mimflow.make_link` accepts, with ``link.r == r``.
        W_star: shape ``(d, r)``, orthonormal columns (``max|W^T W - I| <= 1e-8``), ``d > r``.
        noise_std: standard deviation of the additive Gaussian label noise, finite, ``>= 0``.

    Example:
        >>> import jax.numpy as jnp
        >>> t = MultiIndex("z1*z2", jnp.eye(3)[:, :2])
        >>> t.d, t.r
        (3, 2)
        >>> float(t.clean(jnp.array([[2.0, 3.0, 5.0]]))[0])
        6.0

    References:
        Bietti, Bruna, Pillaud-Vivien, arXiv:2310.19793 (2023), Sec. 2 setup (docs/math/grassmannian-flow.md §1.2).
    """

    link: Link = eqx.field(static=True, converter=make_link)
    W_star: Float[Array, "d r"] = eqx.field(converter=partial(_as_float64, name="W_star"))
    noise_std: Float[Array, ""] = eqx.field(default=0.0, converter=partial(_as_float64, name="noise_std"))

    def __check_init__(self):
        _check_noise_std(self.noise_std)
        if self.W_star.ndim != 2:
            raise MimflowError(f"W_star must have shape (d, r), got {self.W_star.shape}: pass a 2-D array")
        d, r = self.W_star.shape
        if r < 1:
            raise MimflowError("W_star has no columns: pass at least one direction")
        _check_link_r(self.link, r, "W_star")
        _check_dims_exceed_r("W_star", d, r)
        if _is_traced(self.W_star):
            return
        _check_finite_array("W_star", self.W_star)
        _check_orthonormal_columns(
            "W_star", self.W_star, f"use haar_stiefel(key, {d}, {r}) or orthonormalise it (QR: jnp.linalg.qr(W)[0])"
        )

    @property
    def d(self) -> int:
        return self.W_star.shape[0]

    @property
    def r(self) -> int:
        return self.W_star.shape[1]

    def clean(self, X: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Noiseless labels :math:`f(W^{*\\top} x)` for ``X`` of shape ``(..., d)``; returns ``(...)``."""
        X = _check_input(X, self.d)
        return self.link.fn(X @ self.W_star)


def single_index(link, d: int, *, noise_std: float = 0.0, key) -> SingleIndex:
    r"""A :class:`SingleIndex` target with :math:`w^*` uniform on the sphere :math:`S^{d-1}`.

    Args:
        link: a one-variable link (anything :func:`~mimflow.make_link` accepts).
        d: input dimension, an integer ``>= 2``.
        noise_std: label-noise standard deviation, ``>= 0``.
        key: JAX PRNG key for :math:`w^*` (``haar_stiefel(key, d, 1)[:, 0]``).

    Returns:
        A :class:`SingleIndex` with ``w_star`` of shape ``(d,)``.

    Example:
        >>> import jax
        >>> t = single_index("he3", 10, key=jax.random.key(0))
        >>> t.d, t.w_star.shape
        (10, (10,))
    """
    d = _check_positive_int("d", d)
    _check_dims_exceed_r("single_index", d, 1)
    w_star = haar_stiefel(key, d, 1)[:, 0]
    return SingleIndex(link, w_star, noise_std)


def multi_index(link, d: int, *, W_star=None, noise_std: float = 0.0, key=None) -> MultiIndex:
    r"""A :class:`MultiIndex` target, with :math:`W^*` Haar on :math:`\mathrm{St}(d, r)` unless given.

    ``r`` is ``link.r`` (``make_link(link).r``).

    Args:
        link: anything :func:`~mimflow.make_link` accepts; its ``r`` sets the number of directions.
        d: input dimension, an integer ``> r``.
        W_star: optional ``(d, r)`` orthonormal directions; drawn with :func:`haar_stiefel` if ``None``.
        noise_std: label-noise standard deviation, ``>= 0``.
        key: JAX PRNG key; required when ``W_star`` is not given.

    Returns:
        A :class:`MultiIndex`.

    Example:
        >>> import jax
        >>> t = multi_index("staircase2", 8, key=jax.random.key(0))
        >>> t.W_star.shape
        (8, 2)
    """
    link = make_link(link)
    d = _check_positive_int("d", d)
    if W_star is None:
        if key is None:
            raise MimflowError("multi_index needs key= to draw W_star (or pass W_star=)")
        _check_dims_exceed_r("multi_index", d, link.r)
        W_star = haar_stiefel(key, d, link.r)
    else:
        W_star = _as_float64(W_star, name="W_star")
        if W_star.ndim != 2 or W_star.shape[0] != d:
            raise MimflowError(f"W_star must have shape (d, r) = ({d}, {link.r}), got {W_star.shape}: pass {d} rows")
    return MultiIndex(link, W_star, noise_std)
