"""Small matrix functions of the engines: square roots, factors and products written for tiny sizes."""

from __future__ import annotations

import jax.numpy as jnp

from mimflow import _jax  # noqa: F401


SMALL_INNER = 8
"""Inner dimensions up to this size are contracted by unrolled multiply-adds (:func:`_mm`)."""


def _mm(a, b):
    """``a (m, k) @ b (k, n)``; for ``k <= SMALL_INNER`` written as ``k`` unrolled broadcast multiply-adds.

    XLA on CPU runs a tiny ``dot_general`` or reduction (1x1 .. 4x4, batched under ``vmap``) as its
    own kernel, while elementwise multiply-adds fuse with their neighbours into one loop: in the
    reduced chain's step this took the number of kernels per step from ~26 to a few."""
    k = a.shape[1]
    if k > SMALL_INNER:
        return a @ b
    out = a[:, 0:1] * b[0:1, :]
    for j in range(1, k):
        out = out + a[:, j:j + 1] * b[j:j + 1, :]
    return out


def _bmm(a, b):
    """Batched :func:`_mm`: ``a (S, m, k) @ b (S, k, n)``."""
    k = a.shape[2]
    if k > SMALL_INNER:
        return jnp.einsum("smk,skn->smn", a, b)
    out = a[:, :, 0:1] * b[:, 0:1, :]
    for j in range(1, k):
        out = out + a[:, :, j:j + 1] * b[:, j:j + 1, :]
    return out

def _factor(S):
    """``F`` with ``F F^T = S`` (S symmetric PSD, p x p): Cholesky with a 1e-13 relative jitter, so an
    S that is singular to rounding (student aligned with the teacher) stays finite. Any factor gives
    the same law, since it multiplies isotropic Gaussians."""
    p = S.shape[0]
    if p == 1:
        return jnp.sqrt(jnp.maximum(S, 0.0))
    eps = 1e-13 * jnp.maximum(jnp.trace(S) / p, 1e-300)
    return jnp.linalg.cholesky(0.5 * (S + S.T) + eps * jnp.eye(p))
