"""Argument checks shared by the target objects and :func:`~mimflow.targets.haar_stiefel`.

Every mistake is a one-line :class:`~mimflow.MimflowError` naming the field and the fix; values that
are traced (construction inside a JAX transformation) skip the checks that need concrete numbers.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError, check_finite
from mimflow.targets._links import Link

# Tolerances. Unit norm / orthonormality of user-given directions: 1e-8 in max norm, far
# above float64 rounding of a QR or a normalisation (~1e-15 d) and far below any error a
# user could make on purpose. Gram matrices: eigenvalues >= -1e-10 (the brief of this
# module), and symmetry / unit diagonal to the same 1e-10.
UNIT_TOL = 1e-8
GRAM_TOL = 1e-10


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
