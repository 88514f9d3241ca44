r"""Sums of neurons :math:`f^*(x) = \sum_{j=1}^k \sigma(v_j^\top x)` with any Gram matrix (docs/math/neurons.md §2.2-2.4).

:class:`SumOfNeurons` is an immutable :class:`equinox.Module` pytree
(:mod:`mimflow.targets._target_base`); :func:`sum_of_neurons` realises a prescribed Gram matrix
:math:`V^\top V` in a Haar-random frame.
"""

from __future__ import annotations

from typing import final

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from mimflow._errors import MimflowError, check_finite
from mimflow._linalg import psd_sqrt
from mimflow.targets._links import Link, make_link
from mimflow.targets._stiefel import haar_stiefel
from mimflow.targets._target_base import AbstractTarget, _check_input
from mimflow.targets._target_checks import (
    GRAM_TOL,
    UNIT_TOL,
    _as_float64,
    _check_finite_array,
    _check_noise_std,
    _check_positive_int,
    _is_traced,
)


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
    V = Q @ jnp.asarray(psd_sqrt(G))
    return SumOfNeurons(sigma, V, noise_std)
