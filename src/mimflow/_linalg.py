r"""Symmetric matrix functions by eigendecomposition: one inverse square root, one PSD square root.

For a symmetric :math:`S = V \operatorname{diag}(w) V^\top`,

.. math::

    S^{-1/2} = V \operatorname{diag}(w^{-1/2}) V^\top \quad (S \succ 0),\qquad
    S^{1/2} = V \operatorname{diag}(\max(w, 0)^{1/2}) V^\top \quad (S \succeq 0).

Both act on the last two axes (a stack ``(..., p, p)`` is decomposed matrix by matrix) and use the
array library of their argument: a NumPy array gives a NumPy result (``numpy.linalg.eigh``), anything
else (a JAX array, a tracer under ``jit``/``vmap``/``grad``) a JAX one (``jax.numpy.linalg.eigh``).
The input is symmetrised, :math:`(S + S^\top)/2`, which is exact (no rounding) when ``S`` is already
symmetric, as ``W^T W`` is; a ``1 x 1`` matrix skips the eigendecomposition
(:math:`s^{-1/2}`, :math:`\max(s, 0)^{1/2}`: the same numbers).

Used for the polar factor :math:`W (W^\top W)^{-1/2}` (the Stiefel retraction of the training engines
and of the full-dimensional flow) and for exact Haar initial overlaps
:math:`M = Z_1 (Z_1^\top Z_1 + L L^\top)^{-1/2}` (docs/math/saddles.md §1.6.3).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

__all__ = ["inverse_sqrt", "psd_sqrt"]


def _namespace(S):
    return np if isinstance(S, np.ndarray) else jnp


def _symmetric(xp, S):
    return 0.5 * (S + xp.swapaxes(S, -1, -2))


def inverse_sqrt(S):
    r""":math:`S^{-1/2}` of a symmetric positive definite matrix (or a stack of them).

    Args:
        S: ``(..., p, p)`` symmetric positive definite, NumPy or JAX.

    Returns:
        ``(..., p, p)``, the symmetric :math:`S^{-1/2}`, in the array library of ``S``. A singular
        or indefinite ``S`` gives ``inf``/``NaN`` entries (no check: this runs under ``jit``).

    Example:
        >>> import numpy as np
        >>> inverse_sqrt(np.array([[4.0, 0.0], [0.0, 0.25]])).tolist()
        [[0.5, 0.0], [0.0, 2.0]]
    """
    xp = _namespace(S)
    if S.shape[-1] == 1:
        return 1.0 / xp.sqrt(S)
    w, V = xp.linalg.eigh(_symmetric(xp, S))
    return (V / xp.sqrt(w)[..., None, :]) @ xp.swapaxes(V, -1, -2)


def psd_sqrt(S):
    r"""Symmetric square root of a symmetric positive semidefinite matrix (or a stack of them).

    Eigenvalues below zero (rounding) are clipped to zero.

    Args:
        S: ``(..., p, p)`` symmetric positive semidefinite, NumPy or JAX.

    Returns:
        ``(..., p, p)``, the symmetric PSD :math:`S^{1/2}`, in the array library of ``S``.

    Example:
        >>> import numpy as np
        >>> psd_sqrt(np.array([[4.0, 0.0], [0.0, 0.0]])).tolist()
        [[2.0, 0.0], [0.0, 0.0]]
    """
    xp = _namespace(S)
    if S.shape[-1] == 1:
        return xp.sqrt(xp.maximum(S, 0.0))
    w, V = xp.linalg.eigh(_symmetric(xp, S))
    return (V * xp.sqrt(xp.maximum(w, 0.0))[..., None, :]) @ xp.swapaxes(V, -1, -2)
