r"""The averaging operator :math:`A_N` on multivariate Hermite spectra (docs/math/grassmannian-flow.md §1.3).

.. math::

    A_N g(z) = \mathbb{E}_{\xi\sim N(0,I_r)}\big[g\big(N^T z + (I - N^T N)^{1/2}\xi\big)\big],
    \qquad \|N\|_{op} \le 1 .

If :math:`(U, V)` are standard Gaussian in :math:`\mathbb{R}^r\times\mathbb{R}^r` with
:math:`\mathbb{E}[U V^T] = N^T`, then :math:`A_N g(V) = \mathbb{E}[g(U)\mid V]` and
:math:`\langle A_N g, h\rangle = \mathbb{E}[g(U)\,h(V)]` (docs/math/grassmannian-flow.md §1.3, property 1). On the degree-k
chaos, written as the symmetric tensor :math:`S_k` of :mod:`mimflow.hermite._multiindex`
(:math:`\|S_k\|_F^2` = energy of the chaos), it acts as the k-th tensor power of ``N``
(property 4):

.. math::

    S_k(A_N g) = N^{\otimes k} S_k(g),\qquad
    (N^{\otimes k} S)_{i_1\dots i_k} = \sum_{j} N_{i_1 j_1}\cdots N_{i_k j_k} S_{j_1\dots j_k},

so :math:`\langle A_N f, g\rangle = \sum_k \langle N^{\otimes k} S_k(f), S_k(g)\rangle_F`. For ``r = 1``
this is Mehler's formula :math:`\sum_k c_k(f) c_k(g) m^k`.

:math:`N^{\otimes k}` is applied one axis at a time (``k`` tensordots, cost :math:`k\,r^{k+1}`), in
JAX and float64, so the correlation is jit-able and differentiable in ``N``; the spectra are
constants. The correlation is a polynomial in ``N`` and is evaluated for any ``N`` (outside the
unit ball it is the polynomial extension of the truncated series, not an operator identity).

Limits: ``r <= 4`` and, for ``r >= 2``, ``r**K <= 4**10`` (the degree-K tensor has ``r**K`` entries).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow.hermite._multiindex import MultivariateSpectrum, tensor_to_coefficients

MAX_VARIABLES = 4
"""Largest number of variables ``r`` of a multivariate Hermite spectrum."""

MAX_TENSOR_ENTRIES = 4**10
"""Bound on ``r**K``, the entries of the degree-K symmetric tensor, for ``r >= 2``."""


def _check_spectrum(spectrum, what: str) -> MultivariateSpectrum:
    if not isinstance(spectrum, MultivariateSpectrum):
        raise MimflowError(
            f"{what} must be a MultivariateSpectrum (from multivariate_spectrum), got {type(spectrum).__name__}"
        )
    if spectrum.r > MAX_VARIABLES:
        raise MimflowError(f"{what} has r = {spectrum.r}: multivariate Hermite supports r <= {MAX_VARIABLES}")
    return spectrum


def _check_tensor_size(r: int, degree: int) -> None:
    if r >= 2 and r**degree > MAX_TENSOR_ENTRIES:
        k_limit = int(math.floor(math.log(MAX_TENSOR_ENTRIES) / math.log(r) + 1e-12))
        raise MimflowError(
            f"degree {degree} is too high for the tensor form with r = {r} (r**degree must be <= 4**10):"
            f" truncate the spectrum to degree <= {k_limit}"
        )


def _as_matrix(N, r: int):
    """``N`` as a float64 ``(r, r)`` array (a scalar is accepted for ``r = 1``); shape errors are static."""
    N = jnp.asarray(N, dtype=jnp.float64)
    if r == 1 and N.ndim == 0:
        N = N.reshape(1, 1)
    if N.shape != (r, r):
        raise MimflowError(f"N must have shape ({r}, {r}) for spectra with r = {r}, got {tuple(N.shape)}")
    return N


def apply_tensor_power(N, tensor) -> jax.Array:
    r"""Apply ``N`` to every index of a k-tensor: :math:`N^{\otimes k} S`.

    Args:
        N: ``(r, r)``.
        tensor: ``(r,) * k`` (``k = tensor.ndim``; a scalar is returned unchanged).

    Returns:
        ``(r,) * k``: :math:`(N^{\otimes k}S)_{i_1..i_k} = \sum_j N_{i_1 j_1}\cdots N_{i_k j_k} S_{j_1..j_k}`.

    Each step contracts the first axis with ``N`` and appends the new axis last, so after ``k``
    steps the axes are back in order (cost :math:`k\,r^{k+1}`).

    Example:
        >>> import jax.numpy as jnp
        >>> apply_tensor_power(jnp.array([[0.5, 0.0], [0.0, 1.0]]), jnp.array([1.0, 1.0]))
        Array([0.5, 1. ], dtype=float64)
    """
    N = jnp.asarray(N, dtype=jnp.float64)
    out = jnp.asarray(tensor, dtype=jnp.float64)
    if out.ndim == 0:
        return out
    # Every step maps (r,)*k to (r,)*k, so a loop keeps the traced graph at one tensordot per
    # degree (a Python loop would trace k(k+1)/2 of them over all degrees).
    return jax.lax.fori_loop(0, out.ndim, lambda _, t: jnp.tensordot(t, N, axes=([0], [1])), out)


def make_averaging_correlation(
    f_spectrum: MultivariateSpectrum, g_spectrum: MultivariateSpectrum
) -> Callable[[jax.Array], jax.Array]:
    r"""Build ``N -> <A_N f, g>`` as a pure JAX function (jit-able, differentiable in ``N``).

    .. math::

        \langle A_N f, g\rangle = \mathbb{E}[f(U)\,g(V)]
        = \sum_{k=0}^{K} \langle N^{\otimes k} S_k(f),\, S_k(g)\rangle_F,
        \qquad \mathbb{E}[U V^T] = N^T,

    with ``K`` the smaller of the two truncation degrees (docs/math/grassmannian-flow.md §1.3). The tensors :math:`S_k` are
    built once here and closed over as constants; degrees where either tensor vanishes are skipped.
    The truncation error is at most :math:`\|N\|_{op}^{K+1}\sqrt{\mathrm{tail}_f\,\mathrm{tail}_g}`.

    Args:
        f_spectrum, g_spectrum: spectra with the same ``r``.

    Returns:
        ``correlation(N)`` (its core is jitted): ``N`` of shape ``(r, r)`` (or a scalar for ``r = 1``) ->
        scalar; compose it freely with ``jax.grad``, ``jax.vmap`` and ``jax.jit``.

    Example:
        >>> import numpy as np
        >>> from mimflow.hermite import MultivariateSpectrum, multi_indices
        >>> s = MultivariateSpectrum(1, 2, multi_indices(1, 2), np.array([0.0, 1.0, 1.0]), 2.0, 0.0, "given")
        >>> float(make_averaging_correlation(s, s)(0.5))  # 0.5 + 0.5**2
        0.75
    """
    f_spectrum = _check_spectrum(f_spectrum, "f_spectrum")
    g_spectrum = _check_spectrum(g_spectrum, "g_spectrum")
    r = f_spectrum.r
    if g_spectrum.r != r:
        raise MimflowError(f"the two spectra must have the same r, got r = {r} and r = {g_spectrum.r}")
    degree = min(f_spectrum.degree, g_spectrum.degree)
    _check_tensor_size(r, degree)
    if r == 1:
        # Mehler: sum_k c_k(f) c_k(g) m^k, one polynomial (no tensors to trace).
        products = jax.device_put(f_spectrum.values[: degree + 1] * g_spectrum.values[: degree + 1])

        def correlation(N) -> jax.Array:
            return _mehler(_as_matrix(N, 1)[0, 0], products)

        return correlation
    pairs = []
    for k in range(degree + 1):
        sl_f, sl_g = f_spectrum.degree_slice(k), g_spectrum.degree_slice(k)
        if not (np.any(f_spectrum.values[sl_f]) and np.any(g_spectrum.values[sl_g])):
            continue
        # device_put, not jnp.asarray: the latter compiles a small program per shape.
        pairs.append((jax.device_put(f_spectrum.tensor(k)), jax.device_put(g_spectrum.tensor(k))))
    pairs = tuple(pairs)

    def correlation(N) -> jax.Array:
        return _tensor_correlation(_as_matrix(N, r), pairs)

    return correlation


@jax.jit
def _mehler(m, products):
    powers = jnp.cumprod(jnp.concatenate([jnp.ones(1), jnp.full(products.shape[0] - 1, m)]))
    return jnp.sum(products * powers)


@jax.jit
def _tensor_correlation(N, pairs):
    total = jnp.zeros((), dtype=jnp.float64)
    for s_f, s_g in pairs:
        total = total + jnp.sum(apply_tensor_power(N, s_f) * s_g)
    return total


def averaging_correlation(f_spectrum: MultivariateSpectrum, g_spectrum: MultivariateSpectrum, N) -> jax.Array:
    r""":math:`\langle A_N f, g\rangle = \sum_k \langle N^{\otimes k}S_k(f), S_k(g)\rangle` (docs/math/grassmannian-flow.md §1.3).

    Convenience wrapper around :func:`make_averaging_correlation` (which builds the tensors once;
    use it inside loops, ``jit`` or ``grad``).

    Args:
        f_spectrum, g_spectrum: spectra with the same ``r``; truncated to the smaller degree.
        N: ``(r, r)`` (a scalar for ``r = 1``).

    Returns:
        Scalar (float64 JAX array).

    Example:
        >>> import numpy as np
        >>> from mimflow.hermite import MultivariateSpectrum, multi_indices
        >>> s = MultivariateSpectrum(2, 1, multi_indices(2, 1), np.array([0.0, 1.0, 0.0]), 1.0, 0.0, "given")
        >>> float(averaging_correlation(s, s, np.array([[0.3, 0.0], [0.2, 1.0]])))  # N_11
        0.3
    """
    return make_averaging_correlation(f_spectrum, g_spectrum)(N)


@jax.jit
def _apply_all(N, tensors):
    return [apply_tensor_power(N, t) for t in tensors]


def averaged_spectrum(spectrum: MultivariateSpectrum, N) -> MultivariateSpectrum:
    r"""Hermite coefficients of :math:`A_N f`: :math:`S_k(A_N f) = N^{\otimes k} S_k(f)`, ``k <= K``.

    Args:
        spectrum: the spectrum of ``f`` (``r`` variables, degree ``K``).
        N: ``(r, r)`` with :math:`\|N\|_{op} \le 1` (a scalar for ``r = 1``).

    Returns:
        :class:`MultivariateSpectrum` of :math:`A_N f` (same multi-indices). The part of
        :math:`A_N f` above degree ``K`` is not known exactly: ``tail`` is its upper bound
        :math:`\|N\|_{op}^{2(K+1)}\,\mathrm{tail}_K(f)` (exact when ``N`` is orthogonal or 0, or when
        ``f`` has no tail) and ``norm2 = sum(values**2) + tail``.

    Raises:
        MimflowError: wrong shape, non-finite entries or :math:`\|N\|_{op} > 1`.

    Example:
        >>> import numpy as np
        >>> from mimflow.hermite import MultivariateSpectrum, multi_indices
        >>> s = MultivariateSpectrum(1, 3, multi_indices(1, 3), np.array([0.0, 0.0, 0.0, 1.0]), 1.0, 0.0, "given")
        >>> averaged_spectrum(s, 0.5).values.tolist()  # Mehler: A_m h_3 = m^3 h_3
        [0.0, 0.0, 0.0, 0.125]
    """
    spectrum = _check_spectrum(spectrum, "spectrum")
    r, degree = spectrum.r, spectrum.degree
    _check_tensor_size(r, degree)
    N_np = np.asarray(N, dtype=np.float64)
    if r == 1 and N_np.ndim == 0:
        N_np = N_np.reshape(1, 1)
    if N_np.shape != (r, r):
        raise MimflowError(f"N must have shape ({r}, {r}) for a spectrum with r = {r}, got {N_np.shape}")
    if not np.all(np.isfinite(N_np)):
        raise MimflowError("N must be finite: pass a real (r, r) matrix with operator norm <= 1")
    op_norm = float(np.linalg.norm(N_np, 2))
    if op_norm > 1.0 + 1e-12:
        raise MimflowError(f"A_N needs ||N||_op <= 1, got {op_norm:.6g}: rescale N")
    tensors = [jax.device_put(spectrum.tensor(k)) for k in range(degree + 1)]
    averaged = _apply_all(jax.device_put(N_np), tensors)
    values = np.concatenate(
        [tensor_to_coefficients(np.asarray(t), r, k)[1] for k, t in enumerate(averaged)]
    )
    tail = min(op_norm, 1.0) ** (2 * (degree + 1)) * max(float(spectrum.tail), 0.0)
    norm2 = float(np.sum(values**2)) + tail
    name = f"A_N({spectrum.name})" if spectrum.name else "A_N f"
    return MultivariateSpectrum(r, degree, spectrum.multi_indices, values, norm2, tail, "averaged", name)
