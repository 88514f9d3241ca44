r"""Targets: single-index, multi-index and sums of neurons, plus Haar directions.

A target is the function being learnt, with optional label noise:

.. math::

    y = f^*(x) + \texttt{noise\_std}\,\xi, \qquad x \sim N(0, I_d),\ \xi \sim N(0, 1),

* :class:`SingleIndex`:  :math:`f^*(x) = f(w^{*\top} x)`, :math:`\|w^*\| = 1` (docs/math/grassmannian-flow.md §1.2 with r = 1);
* :class:`MultiIndex`:   :math:`f^*(x) = f(W^{*\top} x)`, :math:`W^* \in \mathrm{St}(d, r)` (docs/math/grassmannian-flow.md §1.2);
* :class:`SumOfNeurons`: :math:`f^*(x) = \sum_{j=1}^k \sigma(v_j^\top x)`, unit :math:`v_j`, any Gram
  matrix :math:`V^\top V` (docs/math/neurons.md §2.2-2.4).

Every target is an immutable :class:`equinox.Module` (a pytree): the links and the integers
that fix shapes are static, the direction matrix and ``noise_std`` are float64 array leaves.
Arguments are validated once, at construction and outside ``jit``; every mistake is a
one-line :class:`~mimflow.MimflowError` naming the field and the fix. Construction inside a
JAX transformation (traced arguments) skips the value checks, which cannot be made there.

Shapes: ``d`` input dimension, ``r`` number of link variables (``k`` for sums of neurons;
``.r`` is an alias), ``n`` number of samples. Every target has ``.d``, ``.r``, ``.link``
(``z (..., r) -> (...)``), ``.W_star`` ``(d, r)``, ``.noise_std`` and ``.clean(X)``, and
``target.link(X @ target.W_star) == target.clean(X)`` for all of them.
"""

from __future__ import annotations

import abc
from functools import partial
from typing import final

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError, check_finite
from mimflow.targets._links import Link, make_link

# Tolerances. Unit norm / orthonormality of user-given directions: 1e-8 in max norm, far
# above float64 rounding of a QR or a normalisation (~1e-15 d) and far below any error a
# user could make on purpose. Gram matrices: eigenvalues >= -1e-10 (the brief of this
# module), and symmetry / unit diagonal to the same 1e-10.
UNIT_TOL = 1e-8
GRAM_TOL = 1e-10

__all__ = [
    "AbstractTarget",
    "SingleIndex",
    "MultiIndex",
    "SumOfNeurons",
    "haar_stiefel",
    "single_index",
    "multi_index",
    "sum_of_neurons",
]


# ---------------------------------------------------------------------------- helpers


def _is_traced(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def _as_float64(value, *, name: str) -> Array:
    """``jnp.asarray(value, float64)``, with a MimflowError for non-numbers."""
    if _is_traced(value):
        return jnp.asarray(value, dtype=jnp.float64)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MimflowError(f"{name} must be an array of real numbers, got {type(value).__name__}: {exc}") from None
    return jnp.asarray(arr)


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise MimflowError(f"{name} must be a positive integer, got {value!r}: pass int({name})")
    if value < 1:
        raise MimflowError(f"{name} must be a positive integer, got {value!r}: pass {name} >= 1")
    return int(value)


def _check_finite_array(name: str, value) -> None:
    """One-line refusal of NaN/inf in an array (``check_finite`` would print the whole array)."""
    arr = np.asarray(value, dtype=np.float64)
    bad = ~np.isfinite(arr)
    if np.any(bad):
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise MimflowError(
            f"{name} must be finite, got {int(bad.sum())} NaN/inf entries (first at index {first}): pass real numbers"
        )


def _check_noise_std(noise_std) -> None:
    if _is_traced(noise_std):
        return
    if np.ndim(noise_std) != 0:
        raise MimflowError(f"noise_std must be a scalar, got shape {np.shape(noise_std)}: pass one float")
    check_finite("noise_std", float(noise_std))
    if float(noise_std) < 0:
        raise MimflowError(f"noise_std must be >= 0, got {float(noise_std)!r}: pass its absolute value")


def _check_orthonormal_columns(name: str, W, hint: str) -> None:
    W = np.asarray(W)
    err = float(np.max(np.abs(W.T @ W - np.eye(W.shape[1]))))
    if err > UNIT_TOL:
        raise MimflowError(
            f"{name} must have orthonormal columns (max |{name}^T {name} - I| = {err:.3g} > {UNIT_TOL:g}): {hint}"
        )


def _check_dims_exceed_r(name: str, d: int, r: int) -> None:
    if d <= r:
        raise MimflowError(
            f"{name}: d = {d} must be larger than r = {r}: a target needs more input dimensions than directions"
        )


def _check_link_r(link: Link, r: int, name: str) -> None:
    if link.r != r:
        raise MimflowError(
            f"link {link.name!r} has r = {link.r} variables but {name} has {r} columns: "
            f"make them agree, e.g. make_link(spec, r={r}) or a {name} with {link.r} columns"
        )


# ---------------------------------------------------------------------------- base


class AbstractTarget(eqx.Module):
    r"""A target :math:`y = f^*(x) + \texttt{noise\_std}\,\xi` on Gaussian inputs.

    Concrete targets provide ``link``, ``noise_std``, ``W_star`` ``(d, r)`` (a field or a
    property), the properties ``d`` and ``r``, and :meth:`clean`. Sampling lives in :func:`mimflow.targets.sample`.
    """

    # Only ``link`` is declared as an AbstractVar. ``noise_std`` would be placed, with its
    # default, before the subclasses' direction fields in the generated ``__init__``, and an
    # AbstractVar ``W_star`` cannot be met by a property (SingleIndex, SumOfNeurons) in
    # equinox 0.13, so these two are documented here and provided by every subclass.
    link: eqx.AbstractVar[Link]

    @property
    @abc.abstractmethod
    def d(self) -> int:
        """Input dimension."""

    @property
    @abc.abstractmethod
    def r(self) -> int:
        """Number of link variables (directions)."""

    @abc.abstractmethod
    def clean(self, X: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Noiseless labels ``f*(x)`` for inputs of shape ``(..., d)``."""


def _check_input(X, d: int) -> Array:
    X = jnp.asarray(X)
    if X.ndim < 1 or X.shape[-1] != d:
        raise MimflowError(f"X must have shape (..., d) with d = {d}, got {X.shape}: pass inputs of dimension {d}")
    return X


# ---------------------------------------------------------------------------- single index


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


# ---------------------------------------------------------------------------- multi index


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


# ---------------------------------------------------------------------------- sums of neurons


def _summed_link(sigma: Link, k: int) -> Link:
    """The ``k``-variable link ``z -> sum_j sigma(z_j)`` (``sigma`` itself when ``k == 1``)."""
    if k == 1:
        return sigma
    fn = sigma.fn
    breakpoints = sigma.breakpoints(0)
    return make_link(
        lambda z: jnp.sum(fn(z[..., None]), axis=-1),
        r=k,
        name=f"sum of {k} {sigma.name}",
        breakpoints=[breakpoints] * k,  # kinks of sigma along each axis
    )


@final
class SumOfNeurons(AbstractTarget):
    r"""Sum of ``k`` neurons :math:`f^*(x) = \sum_{j=1}^k \sigma(v_j^\top x)`, unit :math:`v_j`.

    .. math::

        y = \sum_{j=1}^{k} \sigma(v_j^\top x) + \texttt{noise\_std}\,\xi,\qquad \|v_j\| = 1,

    :math:`\sigma` is ``sigma`` (one variable) and :math:`v_j` is column ``j`` of ``V``. The Gram
    matrix :math:`V^\top V` (``.gram``; ``P`` in the overlap glossary, ``Q`` in docs/math/neurons.md §2.2) is
    arbitrary: the identity gives orthogonal index vectors (docs/math/neurons.md §2.3), ``(1-beta) I + beta 11^T``
    the equal-angle case (docs/math/neurons.md §2.4). Build one with :func:`sum_of_neurons`.

    Args:
        sigma: anything :func:`~mimflow.make_link` accepts, with one variable.
        V: shape ``(d, k)``, unit columns (to 1e-8), any angles between them.
        noise_std: standard deviation of the additive Gaussian label noise, finite, ``>= 0``.

    Attributes:
        d, k, r, sigma, V, W_star, gram, noise_std: ``r = k``, ``W_star = V``, ``gram`` ``(k, k)``.
        link: the ``k``-variable link ``z -> sum_j sigma(z_j)``, so ``link(X @ W_star) == clean(X)``.

    Warning:
        Unless ``V`` has orthonormal columns, ``z = V^T x`` is *not* standard Gaussian
        (its covariance is the Gram matrix), so the Hermite spectrum of ``.link`` under
        :math:`N(0, I_k)` is not the target's. Use ``sigma``'s spectrum and Mehler's formula
        (docs/conventions.md §0) instead.

    Example:
        >>> import jax.numpy as jnp
        >>> t = SumOfNeurons("relu", jnp.eye(3)[:, :2])
        >>> t.d, t.k, t.r
        (3, 2, 2)
        >>> float(t.clean(jnp.array([[2.0, -3.0, 5.0]]))[0])
        2.0

    References:
        Şimşek, Bendjeddou, Hsu, "Learning Gaussian Multi-Index Models with Gradient Flow: Time
        Complexity and Directional Convergence" (docs/math/neurons.md §2.2 setup).
    """

    sigma: Link = eqx.field(static=True)
    V: Float[Array, "d k"]
    noise_std: Float[Array, ""]
    link: Link = eqx.field(static=True, init=False)  # built from sigma and k in __init__

    def __init__(self, sigma, V, noise_std=0.0):
        self.sigma = make_link(sigma)
        self.V = _as_float64(V, name="V")
        self.noise_std = _as_float64(noise_std, name="noise_std")
        # k is only read off a well-formed V here; __check_init__ reports a malformed one.
        k = self.V.shape[1] if self.V.ndim == 2 and self.V.shape[1] >= 1 else 1
        self.link = _summed_link(self.sigma, k) if self.sigma.r == 1 else self.sigma

    def __check_init__(self):
        if self.sigma.r != 1:
            raise MimflowError(
                f"sigma {self.sigma.name!r} has r = {self.sigma.r} variables: a neuron's activation needs one variable (e.g. 'relu', 'h3')"
            )
        _check_noise_std(self.noise_std)
        if self.V.ndim != 2 or self.V.shape[1] < 1:
            raise MimflowError(f"V must have shape (d, k) with k >= 1, got {self.V.shape}: pass one direction per column")
        if _is_traced(self.V):
            return
        _check_finite_array("V", self.V)
        norms = np.linalg.norm(np.asarray(self.V), axis=0)
        err = float(np.max(np.abs(norms - 1.0)))
        if err > UNIT_TOL:
            raise MimflowError(
                f"V must have unit columns (max | ||v_j|| - 1 | = {err:.3g} > {UNIT_TOL:g}): normalise them (V / norm(V, axis=0)) or use sum_of_neurons"
            )

    @property
    def d(self) -> int:
        return self.V.shape[0]

    @property
    def k(self) -> int:
        return self.V.shape[1]

    @property
    def r(self) -> int:
        return self.V.shape[1]

    @property
    def W_star(self) -> Float[Array, "d k"]:
        return self.V

    @property
    def gram(self) -> Float[Array, "k k"]:
        """The Gram matrix :math:`V^\\top V`, shape ``(k, k)``."""
        return self.V.T @ self.V

    def clean(self, X: Float[Array, "*batch d"]) -> Float[Array, "*batch"]:
        """Noiseless labels :math:`\\sum_j \\sigma(v_j^\\top x)` for ``X`` of shape ``(..., d)``; returns ``(...)``."""
        X = _check_input(X, self.d)
        return jnp.sum(self.sigma.fn((X @ self.V)[..., None]), axis=-1)


# ---------------------------------------------------------------------------- factories


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


def _equal_angle_gram(k: int, beta) -> np.ndarray:
    """``(1 - beta) I_k + beta 11^T`` for ``0 <= beta < 1``."""
    try:
        if isinstance(beta, (bool, str)) or np.ndim(beta) != 0:
            raise TypeError
        beta = float(beta)
    except (TypeError, ValueError):
        raise MimflowError(f"beta must be one number in [0, 1), got {beta!r}: pass e.g. beta=0.5") from None
    check_finite("beta", beta)
    if not 0.0 <= beta < 1.0:
        raise MimflowError(
            f"beta must be in [0, 1), got {beta!r}: beta = 1 makes all v_j equal and beta < 0 is outside the equal-angle family; pass gram= for other angles"
        )
    return (1.0 - beta) * np.eye(k) + beta * np.ones((k, k))


def _check_gram(gram, k: int) -> np.ndarray:
    try:
        G = np.asarray(gram, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MimflowError(f"gram must be a (k, k) array of real numbers, got {type(gram).__name__}: {exc}") from None
    _check_finite_array("gram", G)
    if G.shape != (k, k):
        raise MimflowError(f"gram must have shape (k, k) = ({k}, {k}), got {G.shape}: pass a {k} x {k} matrix")
    asym = float(np.max(np.abs(G - G.T)))
    if asym > GRAM_TOL:
        raise MimflowError(f"gram must be symmetric (max |G - G^T| = {asym:.3g}): pass (G + G.T) / 2")
    diag = float(np.max(np.abs(np.diag(G) - 1.0)))
    if diag > GRAM_TOL:
        raise MimflowError(
            f"gram must have a unit diagonal (max |G_jj - 1| = {diag:.3g}): the v_j are unit vectors, so rescale G to a correlation matrix"
        )
    lam_min = float(np.min(np.linalg.eigvalsh(G)))
    if lam_min < -GRAM_TOL:
        raise MimflowError(
            f"gram must be positive semidefinite (smallest eigenvalue {lam_min:.3g} < -{GRAM_TOL:g}): no unit vectors have these angles"
        )
    return G


def _psd_sqrt(G: np.ndarray) -> np.ndarray:
    """Symmetric PSD square root ``U diag(sqrt(max(lambda, 0))) U^T``."""
    lam, U = np.linalg.eigh((G + G.T) / 2.0)
    return (U * np.sqrt(np.clip(lam, 0.0, None))[None, :]) @ U.T


def sum_of_neurons(
    sigma, d: int, k: int, *, gram=None, beta=None, noise_std: float = 0.0, key
) -> SumOfNeurons:
    r"""A :class:`SumOfNeurons` with a prescribed Gram matrix :math:`V^\top V`, in a Haar frame.

    .. math::

        V = Q\,G^{1/2},\qquad Q \sim \mathrm{Haar}(\mathrm{St}(d, k)),\qquad
        V^\top V = G^{1/2} Q^\top Q\, G^{1/2} = G,

    with :math:`G^{1/2}` the symmetric PSD square root, so :math:`V^\top V = G` to rounding and
    the frame is uniformly random.

    Args:
        sigma: one-variable activation (anything :func:`~mimflow.make_link` accepts).
        d: input dimension, a positive integer.
        k: number of neurons, a positive integer ``<= d``.
        gram: ``(k, k)`` symmetric PSD matrix with unit diagonal (default: the identity,
            orthonormal :math:`v_j`, docs/math/neurons.md §2.3).
        beta: instead of ``gram``, the equal-angle Gram :math:`(1-\beta) I + \beta 11^\top`,
            ``0 <= beta < 1`` (docs/math/neurons.md §2.4).
        noise_std: label-noise standard deviation, ``>= 0``.
        key: JAX PRNG key for the frame ``Q``.

    Returns:
        A :class:`SumOfNeurons` with ``V`` of shape ``(d, k)``.

    Example:
        >>> import jax
        >>> t = sum_of_neurons("h3", 20, 4, beta=0.25, key=jax.random.key(0))
        >>> round(float(t.gram[0, 1]), 12)
        0.25

    References:
        docs/math/neurons.md §2.2-2.4 (Şimşek, Bendjeddou, Hsu): orthogonal and equal-angle index vectors.
    """
    sigma = make_link(sigma)
    d = _check_positive_int("d", d)
    k = _check_positive_int("k", k)
    if k > d:
        raise MimflowError(f"k = {k} neurons need k <= d = {d} for a Gram matrix realised in R^d: lower k or raise d")
    if gram is not None and beta is not None:
        raise MimflowError("pass gram or beta, not both: beta builds the gram (1 - beta) I + beta 11^T")
    if beta is not None:
        G = _equal_angle_gram(k, beta)
    elif gram is not None:
        G = _check_gram(gram, k)
    else:
        G = np.eye(k)
    Q = haar_stiefel(key, d, k)
    V = Q @ jnp.asarray(_psd_sqrt(G))
    return SumOfNeurons(sigma, V, noise_std)
