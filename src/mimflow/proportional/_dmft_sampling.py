r"""Conditional sampling of the DMFT's r-side Gaussians on the host (docs/math/dmft.md §3.3).

Each new ``w^k`` is drawn conditionally on the stored past ``(r*, w^0..w^{k-1})``: regression
coefficients from the exact covariance by an eigenvalue pseudo-inverse in correlation scale (relative
cutoff ``PINV_RTOL``) plus fresh noise of the residual variance. Cost ``O(k^3)`` per batch and step
(``O(T^4)`` per solve, independent of the paths).

Tried and rejected (2026-12-03, issue 12 item 8): an incremental truncated Cholesky factor in the
compiled step (``O(k^2)`` per step). Sequential truncation is unstable here: the joint covariance has
numerical rank ~15 out of ~150 once GD converges, dropping a pivot of variance ``tau`` leaves errors of
``sqrt(tau)`` in the later covariances, which swamp the later small pivots; the reconstruction error
``|L L^T - C|`` grew from 7e-8 to 0.1 within 10 steps and the DMFT diverged (``tau = 1e-10`` and
``1e-12``). The global eigenvalue cutoff below does not have that failure mode.
"""

from __future__ import annotations

import ctypes

import jax.numpy as jnp
import numpy as np

__all__ = ["PINV_RTOL", "conditional_regression", "regression"]

PINV_RTOL = 1e-7
"""Relative eigenvalue cutoff of the pseudo-inverse in the conditional sampling."""


def conditional_regression(Cth: np.ndarray, m: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Regression of ``w^k`` on ``(r*, w^0..w^{k-1})`` for a batch of covariances (NumPy, float64).

    ``Cth (B, Tt+1, Tt+1)``, ``m (B, Tt+1)``. Returns ``beta (B, Tt+1)`` (zero beyond index ``k``) and
    the residual variance ``(B,)``, from an eigenvalue pseudo-inverse of the past covariance in
    correlation scale (eigenvalues below ``PINV_RTOL`` times the largest are dropped): stable when the
    past is (nearly) linearly dependent, as it becomes when GD converges.
    """
    batches, size = m.shape
    past = np.zeros((batches, k + 1, k + 1))
    past[:, 0, 0] = 1.0
    past[:, 0, 1:] = m[:, :k]
    past[:, 1:, 0] = m[:, :k]
    past[:, 1:, 1:] = Cth[:, :k, :k]
    cross = np.concatenate([m[:, k:k + 1], Cth[:, :k, k]], axis=1)  # (B, k+1)
    diag = np.maximum(np.diagonal(past, axis1=1, axis2=2), 1e-300)
    scale = 1.0 / np.sqrt(diag)
    corr = past * scale[:, :, None] * scale[:, None, :]
    evals, evecs = np.linalg.eigh(corr)
    keep = evals > PINV_RTOL * evals.max(axis=1, keepdims=True)
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    rhs = cross * scale
    beta_c = np.einsum("bij,bj->bi", evecs, inv * np.einsum("bji,bj->bi", evecs, rhs))  # V diag(inv) V^T rhs
    beta = beta_c * scale
    var = Cth[:, k, k] - np.einsum("bi,bi->b", beta, cross)
    out = np.zeros((batches, size))
    out[:, :k + 1] = beta
    return out, np.maximum(var, 0.0)


_BLAS_THREADS: list | None = None


def _blas_thread_controls() -> list:
    """``(get, set)`` pairs of the OpenBLAS libraries loaded in this process (found through
    ``/proc/self/maps``; empty where that does not exist or the symbols are absent)."""
    global _BLAS_THREADS
    if _BLAS_THREADS is None:
        controls = []
        try:
            with open("/proc/self/maps") as fh:
                paths = {line.split()[-1] for line in fh if "openblas" in line.lower() and "/" in line}
            for path in sorted(paths):
                lib = ctypes.CDLL(path)
                for suffix in ("64_", "", "_64"):
                    for prefix in ("scipy_openblas", "openblas"):
                        get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                        put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                        if get is not None and put is not None:
                            controls.append((get, put))
        except OSError:
            controls = []
        _BLAS_THREADS = controls
    return _BLAS_THREADS


def regression(state: dict, k: int):
    """:func:`conditional_regression` on the host with OpenBLAS held to one thread.

    Measured (2 vCPUs): with OpenBLAS's default threads the ten small ``eigh`` calls fight XLA's
    worker threads and took ~0.2-0.5 s per step (20-50 s of a 100-step solve); single-threaded,
    ~3 ms.
    """
    Cth, m = np.asarray(state["Cth"]), np.asarray(state["m"])
    controls = _blas_thread_controls()
    saved = [get() for get, _ in controls]
    for _, put in controls:
        put(1)
    try:
        beta, var = conditional_regression(Cth, m, k)
    finally:
        for (_, put), n in zip(controls, saved):
            put(n)
    return jnp.asarray(beta), jnp.asarray(var)


