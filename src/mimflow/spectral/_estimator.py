r"""Spectral estimators at finite ``d``: data, the matrix-free top eigenvector, overlaps over seeds.

.. math::

    D = \frac1n \sum_{i=1}^n T(y_i)\, a_i a_i^\top = \frac1n X^\top \operatorname{diag}(T(y))\, X ,
    \qquad \hat w = v_1(D),\qquad \text{overlap}^2 = \langle \hat w, w_* \rangle^2

(MATH.md 4, ``a_i ~ N(0, I_d)``, ``||w*|| = 1``, ``y_i = f(a_i^T w*) + sigma eps_i``). ``D`` is never
formed: Lanczos (ARPACK's implicitly restarted Lanczos, ``scipy.sparse.linalg.eigsh`` with
``which="LA"``) only needs ``v -> X^T (T(y) * (X v)) / n``, two matrix-vector products with
``X`` (``4 n d`` flops, memory-bound), so the cost is ``O(n d)`` per step instead of the ``O(n d^2 + d^3)``
of forming and diagonalising ``D`` (``benchmarks/bench_spectral.py``).

Storage: ``X`` is generated row-block by row-block in float64 (the labels come from the float64
rows); with ``dtype=float32`` it is then *stored* in float32 (``d = 1e4, n = 1e5``: 4 GB instead of 8),
and the matrix-vector products run in float32 (relative error ~1e-7, far below the ``1/sqrt(d)``
fluctuations being measured; the Lanczos tolerance is raised to 1e-6 accordingly).

Seeds run one after another: each seed needs its own ``n x d`` matrix, so batching seeds
multiplies memory by ``S`` while the products stay memory-bound; there is nothing to gain from
vmapping them on a CPU (see BENCHMARKS.md). Seed ``k`` uses ``jax.random.key(k)`` split into the
keys of ``w*``, ``X`` blocks and the noise, so identical seeds give identical numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import _jax  # noqa: F401  (x64)
from .._errors import MimflowError
from ._preprocessing import Preprocessing, make_preprocessing

__all__ = ["SpectralData", "SpectralEstimate", "sample_spectral_data", "top_eigenpair", "spectral_estimate", "SpectralRun",
           "measure_spectral_overlaps"]

MAX_NEGATIVE_SPREAD = 1e4
"""Largest ``-min T / median |T|`` accepted: beyond it Lanczos stalls (MATH.md 4.3's ``1 - 1/y`` unclipped
reaches ``-1e8`` at ``n = 2000``, and ARPACK did not converge in 10 minutes; with ``clip = 10`` it takes
~150 products, ``clip = 100`` ~370, at ``d = 1000, n = 2000``)."""

ROW_BLOCK = 8192
"""Rows of ``X`` generated per compiled call (bounds the float64 temporaries)."""


@dataclass(frozen=True)
class SpectralData:
    """One sample of the single-index model: ``X (n, d)``, ``y (n,)`` float64, ``w_star (d,)`` unit norm."""

    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray


@partial(jax.jit, static_argnames=("rows", "d"))
def _block(key, w_star, rows: int, d: int):
    kx, ke = jax.random.split(key)
    X = jax.random.normal(kx, (rows, d), dtype=jnp.float64)
    return X, X @ w_star, jax.random.normal(ke, (rows,), dtype=jnp.float64)


def sample_spectral_data(link, d: int, n: int, *, noise: float = 0.0, key, dtype=np.float64) -> SpectralData:
    r"""Draw ``(X, y, w*)``: ``w*`` uniform on the sphere, ``a_i ~ N(0, I_d)``, ``y_i = f(a_i^T w*) + noise * eps_i``.

    Args:
        link: the link ``f`` (a name or expression in ``z``, see :func:`mimflow.targets.make_link`).
        d, n: dimension and number of samples.
        noise: standard deviation of the Gaussian label noise.
        key: JAX key (split into ``w*`` and one key per row block).
        dtype: storage type of ``X`` (``np.float64`` or ``np.float32``); ``y`` is always computed
            from the float64 rows.

    Returns:
        :class:`SpectralData` with numpy arrays ``X (n, d)``, ``y (n,)``, ``w_star (d,)``.
    """
    from ..targets import make_link

    lk = make_link(link)
    if lk.r != 1:
        raise MimflowError(f"link {lk.name!r} has r = {lk.r} variables: spectral estimators need a single-index link")
    d, n = _check_size("d", d, 2), _check_size("n", n, 1)
    if np.dtype(dtype) not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise MimflowError(f"dtype must be float64 or float32, got {dtype!r}")
    k_w, k_x = jax.random.split(key)
    w = jax.random.normal(k_w, (d,), dtype=jnp.float64)
    w = w / jnp.linalg.norm(w)
    X = np.empty((n, d), dtype=dtype)
    y = np.empty(n, dtype=np.float64)
    for b, start in enumerate(range(0, n, ROW_BLOCK)):
        rows = min(ROW_BLOCK, n - start)
        Xb, sb, eb = _block(jax.random.fold_in(k_x, b), w, rows, d)
        X[start:start + rows] = np.asarray(Xb)
        y[start:start + rows] = np.asarray(lk(sb[:, None])) + noise * np.asarray(eb)
    return SpectralData(X, y, np.asarray(w))


def _check_size(name: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise MimflowError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def top_eigenpair(X: np.ndarray, t: np.ndarray, *, tol: float | None = None, v0=None,
                  maxiter: int | None = None) -> tuple[float, np.ndarray, int]:
    r"""Top eigenpair of :math:`D = X^\top \operatorname{diag}(t) X / n` by matrix-free Lanczos.

    Args:
        X: ``(n, d)`` float64 or float32 (the products run in ``X``'s type).
        t: ``(n,)`` weights ``T(y_i)``, finite.
        tol: relative accuracy of the eigenvalue (ARPACK); default 1e-10 (float64), 1e-6 (float32).
        v0: starting vector ``(d,)`` (default: a fixed pseudo-random vector, for reproducibility).
        maxiter: Lanczos restarts cap (default ``100 d``).

    Returns:
        ``(eigenvalue, unit eigenvector (d,) float64, number of products with D)``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    n, d = X.shape
    t = np.asarray(t, dtype=X.dtype)
    if t.shape != (n,):
        raise MimflowError(f"t must have shape ({n},), got {t.shape}")
    if not np.all(np.isfinite(t)):
        raise MimflowError("the preprocessed labels T(y) are not all finite (e.g. 1 - 1/y at y = 0): "
                           "use a bounded T, or clip (optimal with clip)")
    spread = -float(np.min(t)) / max(float(np.median(np.abs(t))), 1e-300)
    if spread > MAX_NEGATIVE_SPREAD:
        raise MimflowError(
            f"T(y) goes down to {float(np.min(t)):.3g}, {spread:.2g} times its typical size (e.g. 1 - 1/y near y = 0): "
            "Lanczos needs a Krylov space as large as the number of such labels; clip T from below "
            "(optimal with clip, e.g. --clip 10; the theory accepts the same clipped T)")
    if tol is None:
        tol = 1e-10 if X.dtype == np.float64 else 1e-6
    count = [0]

    def matvec(v):
        count[0] += 1
        v = np.asarray(v, dtype=X.dtype).ravel()
        return (X.T @ (t * (X @ v))).astype(np.float64) / n

    op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
    if d <= 3:  # ARPACK needs k < d - 1
        D = (X.T * t) @ X / n
        vals, vecs = np.linalg.eigh(D.astype(np.float64))
        return float(vals[-1]), vecs[:, -1], 1
    if v0 is None:  # a fixed generic start: ARPACK's own random start would make runs irreproducible
        v0 = np.random.default_rng(20170218).standard_normal(d)
    try:
        vals, vecs = eigsh(op, k=1, which="LA", tol=tol, v0=v0, maxiter=maxiter or 100 * d,
                           ncv=min(d, 24))
    except ArpackNoConvergence as exc:  # pragma: no cover - reported, not hidden
        raise MimflowError(f"Lanczos did not converge for d = {d}, n = {n}: raise tol or maxiter") from exc
    v = vecs[:, 0]
    return float(vals[0]), v / np.linalg.norm(v), count[0]


@dataclass(frozen=True)
class SpectralEstimate:
    """Top eigenvalue, unit eigenvector ``(d,)`` (sign: ``<v, w*> >= 0`` when ``w*`` is known), overlap^2."""

    eigenvalue: float
    vector: np.ndarray
    overlap2: float
    matvecs: int


def spectral_estimate(data: SpectralData, preprocess, *, alpha: float | None = None, clip=None,
                      tol: float | None = None) -> SpectralEstimate:
    """Spectral estimator of ``w*`` from ``data`` with preprocessing ``preprocess`` (MATH.md 4).

    ``preprocess`` is a name/expression or a :class:`Preprocessing`; ``mean_one`` preprocessings see
    ``y / mean(y)`` (empirical mean). ``alpha`` defaults to ``n/d`` (Mondelli-Montanari forms).
    """
    n, d = data.X.shape
    pre = preprocess if isinstance(preprocess, Preprocessing) else make_preprocessing(
        preprocess, alpha=alpha if alpha is not None else n / d, clip=clip)
    if pre.mean_one and not np.mean(data.y) > 0:
        raise MimflowError(f"preprocessing {pre.name!r} assumes labels normalised to mean 1, but mean(y) = "
                           f"{np.mean(data.y):.4g} <= 0: choose another preprocessing")
    t = np.asarray(pre.apply(jnp.asarray(data.y)), dtype=np.float64)
    lam, v, count = top_eigenpair(data.X, t, tol=tol)
    c = float(v @ data.w_star)
    if c < 0:
        v = -v
    return SpectralEstimate(lam, v, c * c, count)


@dataclass(frozen=True)
class SpectralRun:
    """Finite-``d`` measurements over seeds, arrays of shape ``(S,)``."""

    seeds: list[int]
    overlap2: np.ndarray
    top_eigenvalue: np.ndarray
    matvecs: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.overlap2))

    @property
    def sem(self) -> float:
        """Standard error of the mean over seeds (``nan`` for one seed)."""
        s = len(self.seeds)
        return float(np.std(self.overlap2, ddof=1) / math.sqrt(s)) if s > 1 else math.nan


def measure_spectral_overlaps(link, preprocess, alpha: float, d: int, seeds, *, noise: float = 0.0, clip=None,
                              dtype=np.float64, progress=None) -> SpectralRun:
    """Squared overlaps and top eigenvalues of the spectral estimator at ``n = round(alpha d)``, one per seed.

    Args:
        link, preprocess, noise, clip: as in :func:`sample_spectral_data` and :func:`spectral_estimate`.
        alpha: ``n/d``; the Mondelli-Montanari forms use this ``alpha`` (not ``n/d`` after rounding).
        d: dimension; seeds: list of integer seeds.
        progress: called with the fraction done after each seed.
    """
    if not (isinstance(alpha, (int, float, np.floating, np.integer)) and math.isfinite(alpha) and alpha > 0):
        raise MimflowError(f"alpha must be a positive number, got {alpha!r}")
    n = max(1, int(round(alpha * d)))
    pre = make_preprocessing(preprocess, alpha=alpha, clip=clip)
    ov, lam, mv = [], [], []
    seeds = [int(s) for s in seeds]
    for i, seed in enumerate(seeds):
        data = sample_spectral_data(link, d, n, noise=noise, key=jax.random.key(seed), dtype=dtype)
        est = spectral_estimate(data, pre)
        ov.append(est.overlap2)
        lam.append(est.eigenvalue)
        mv.append(est.matvecs)
        del data
        if progress is not None:
            progress((i + 1) / len(seeds))
    return SpectralRun(seeds, np.array(ov), np.array(lam), np.array(mv))
