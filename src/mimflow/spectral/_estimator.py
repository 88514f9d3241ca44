r"""Spectral estimators at finite ``d``: data, the matrix-free top eigenvector, overlaps over seeds.

.. math::

    D = \frac1n \sum_{i=1}^n T(y_i)\, a_i a_i^\top = \frac1n X^\top \operatorname{diag}(T(y))\, X ,
    \qquad \hat w = v_1(D),\qquad \text{overlap}^2 = \langle \hat w, w_* \rangle^2

(docs/math/spectral.md §4, ``a_i ~ N(0, I_d)``, ``||w*|| = 1``, ``y_i = f(a_i^T w*) + sigma eps_i``). ``D`` is never
formed: Lanczos (ARPACK's implicitly restarted Lanczos, ``scipy.sparse.linalg.eigsh`` with
``which="LA"``) only needs ``v -> X^T (T(y) * (X v)) / n``, two matrix-vector products with
``X`` (``4 n d`` flops, memory-bound), so the cost is ``O(n d)`` per step instead of the ``O(n d^2 + d^3)``
of forming and diagonalising ``D`` (``benchmarks/bench_spectral.py``).

Storage: ``X`` is generated row-block by row-block; with ``dtype=float32`` it is drawn and stored in
float32 (``d = 1e4, n = 1e5``: 4 GB instead of 8; the labels use ``s = a^T w*`` of the stored float32 rows,
computed in float64, so data and labels stay consistent), and the matrix-vector products run in float32 (relative error ~1e-7, far below the ``1/sqrt(d)``
fluctuations being measured; the Lanczos tolerance is raised to 1e-6 accordingly).

Seeds: when their stacked data fit in :data:`BATCH_BYTES` (float64), all seeds run in one vmapped,
jitted Lanczos with a fixed number of steps (:func:`top_eigenpairs_batched`; ARPACK finishes any seed
whose residual is not yet small); this removes ARPACK's per-product Python overhead, which is about
half the time at ``d = 500`` (BENCHMARKS.md). Larger problems run seed after seed with ARPACK: the
products are memory-bound and batching would only multiply memory by ``S``. Seed ``k`` uses ``seed_key(k)`` (docs/conventions.md) split into the
keys of ``w*``, ``X`` blocks and the noise, so identical seeds give identical numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow._seeds import seed_generator, seed_key
from mimflow.spectral._preprocessing import Preprocessing, make_preprocessing
from mimflow.targets import make_link

__all__ = ["SpectralData", "SpectralEstimate", "sample_spectral_data", "top_eigenpair", "top_eigenpairs_batched",
           "spectral_estimate", "SpectralRun",
           "measure_spectral_overlaps"]

MAX_NEGATIVE_SPREAD = 1e4
"""Largest ``-min T / median |T|`` accepted: beyond it Lanczos stalls (docs/math/spectral.md §4.3's ``1 - 1/y`` unclipped
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


@partial(jax.jit, static_argnames=("rows", "d", "single"))
def _block(key, w_star, rows: int, d: int, single: bool):
    kx, ke = jax.random.split(key)
    X = jax.random.normal(kx, (rows, d), dtype=jnp.float32 if single else jnp.float64)
    s = jnp.dot(X, w_star.astype(X.dtype), preferred_element_type=jnp.float64) if not single else \
        X.astype(jnp.float64) @ w_star
    return X, s, jax.random.normal(ke, (rows,), dtype=jnp.float64)


def sample_spectral_data(link, d: int, n: int, *, noise: float = 0.0, key, dtype=np.float64) -> SpectralData:
    r"""Draw ``(X, y, w*)``: ``w*`` uniform on the sphere, ``a_i ~ N(0, I_d)``, ``y_i = f(a_i^T w*) + noise * eps_i``.

    Args:
        link: the link ``f`` (a name or expression in ``z``, see :func:`mimflow.targets.make_link`).
        d, n: dimension and number of samples.
        noise: standard deviation of the Gaussian label noise.
        key: JAX key (split into ``w*`` and one key per row block).
        dtype: type of ``X`` (``np.float64`` or ``np.float32``); ``y`` is computed in float64 from the
            stored rows.

    Returns:
        :class:`SpectralData` with numpy arrays ``X (n, d)``, ``y (n,)``, ``w_star (d,)``.
    """
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
        Xb, sb, eb = _block(jax.random.fold_in(k_x, b), w, rows, d, np.dtype(dtype) == np.float32)
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
    n, d = X.shape
    t = np.asarray(t, dtype=X.dtype)
    if t.shape != (n,):
        raise MimflowError(f"t must have shape ({n},), got {t.shape}")
    _check_weights(t)
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
        v0 = seed_generator(20170218).standard_normal(d)
    try:
        vals, vecs = eigsh(op, k=1, which="LA", tol=tol, v0=v0, maxiter=maxiter or 100 * d,
                           ncv=min(d, 24))
    except ArpackNoConvergence as exc:  # pragma: no cover - reported, not hidden
        raise MimflowError(f"Lanczos did not converge for d = {d}, n = {n}: raise tol or maxiter") from exc
    v = vecs[:, 0]
    return float(vals[0]), v / np.linalg.norm(v), count[0]


LANCZOS_STEPS = 120
"""Steps of the batched (vmapped) Lanczos; seeds whose Ritz residual is still too large finish with ARPACK."""

BATCH_BYTES = 512 * 2**20
"""Largest stacked ``(S, n, d)`` float64 data for which seeds run batched (vmapped) in one call."""


@partial(jax.jit, static_argnames=("steps",))
def _lanczos_batch(X, t, v0, steps: int):
    """Lanczos with full reorthogonalisation, ``steps`` products, vmapped over the leading seed axis.

    Shapes: ``X (S, n, d)``, ``t (S, n)``, ``v0 (d,)`` -> top Ritz value ``(S,)``, Ritz vector ``(S, d)``,
    residual norm ``||D x - theta x|| = |beta_m y_m|`` ``(S,)``.
    """

    def one(X, t):
        n, d = X.shape

        def matvec(v):
            return X.T @ (t * (X @ v)) / n

        V = jnp.zeros((steps + 1, d), dtype=X.dtype).at[0].set(v0 / jnp.linalg.norm(v0))

        def body(j, carry):
            V, a, b = carry
            w = matvec(V[j])
            aj = w @ V[j]
            w = w - V.T @ (V @ w)  # rows > j of V are still zero: this is the three-term step + reorthogonalisation
            w = w - V.T @ (V @ w)
            bj = jnp.linalg.norm(w)
            V = V.at[j + 1].set(jnp.where(bj > 0, w / jnp.where(bj > 0, bj, 1.0), 0.0))
            return V, a.at[j].set(aj), b.at[j].set(bj)

        V, a, b = jax.lax.fori_loop(0, steps, body, (V, jnp.zeros(steps), jnp.zeros(steps)))
        T = jnp.diag(a) + jnp.diag(b[:-1], 1) + jnp.diag(b[:-1], -1)
        vals, vecs = jnp.linalg.eigh(T)
        y = vecs[:, -1]
        x = V[:steps].T @ y
        return vals[-1], x / jnp.linalg.norm(x), jnp.abs(b[-1] * y[-1]), jnp.max(jnp.abs(vals))

    return jax.vmap(one)(X, t)


def top_eigenpairs_batched(X: np.ndarray, t: np.ndarray, *, steps: int = LANCZOS_STEPS, rtol: float = 1e-9):
    """Top eigenpairs of ``D_s = X_s^T diag(t_s) X_s / n`` for a stack of seeds, vmapped in one call.

    ``X (S, n, d)`` float64, ``t (S, n)``. A fixed number of Lanczos steps (full reorthogonalisation) runs
    for every seed at once; a seed whose Ritz residual exceeds ``rtol * ||T_m||`` is finished by ARPACK
    (:func:`top_eigenpair`) started from its Ritz vector. Returns ``(eigenvalues (S,), vectors (S, d),
    products (S,))``.
    """
    S, n, d = X.shape
    for ts in t:
        _check_weights(ts)
    steps = int(min(steps, d))
    v0 = seed_generator(20170218).standard_normal(d)
    lam, vec, res, scale = (np.asarray(a) for a in _lanczos_batch(jnp.asarray(X), jnp.asarray(t), jnp.asarray(v0), steps))
    lam, vec = lam.copy(), vec.copy()
    products = np.full(S, steps)
    for i in np.nonzero(res > rtol * scale)[0]:
        lam[i], vec[i], extra = top_eigenpair(X[i], t[i], v0=vec[i])
        products[i] += extra
    return lam, vec, products


def _check_weights(t) -> None:
    if not np.all(np.isfinite(t)):
        raise MimflowError("the preprocessed labels T(y) are not all finite (e.g. 1 - 1/y at y = 0): "
                           "use a bounded T, or clip (optimal with clip)")
    spread = -float(np.min(t)) / max(float(np.median(np.abs(t))), 1e-300)
    if spread > MAX_NEGATIVE_SPREAD:
        raise MimflowError(
            f"T(y) goes down to {float(np.min(t)):.3g}, {spread:.2g} times its typical size (e.g. 1 - 1/y near y = 0): "
            "Lanczos needs a Krylov space as large as the number of such labels; clip T from below "
            "(optimal with clip, e.g. --clip 10; the theory accepts the same clipped T)")


@dataclass(frozen=True)
class SpectralEstimate:
    """Top eigenvalue, unit eigenvector ``(d,)`` (sign: ``<v, w*> >= 0`` when ``w*`` is known), overlap^2."""

    eigenvalue: float
    vector: np.ndarray
    overlap2: float
    matvecs: int


def spectral_estimate(data: SpectralData, preprocess, *, alpha: float | None = None, clip=None,
                      tol: float | None = None) -> SpectralEstimate:
    """Spectral estimator of ``w*`` from ``data`` with preprocessing ``preprocess`` (docs/math/spectral.md §4).

    ``preprocess`` is a name/expression or a :class:`Preprocessing`; ``mean_one`` preprocessings see
    ``y / mean(y)`` (empirical mean). ``alpha`` defaults to ``n/d`` (Mondelli-Montanari forms).
    """
    n, d = data.X.shape
    pre = preprocess if isinstance(preprocess, Preprocessing) else make_preprocessing(
        preprocess, alpha=alpha if alpha is not None else n / d, clip=clip)
    t = _weights(data, pre)
    lam, v, count = top_eigenpair(data.X, t, tol=tol)
    c = float(v @ data.w_star)
    if c < 0:
        v = -v
    return SpectralEstimate(lam, v, c * c, count)


def _weights(data: SpectralData, pre: Preprocessing) -> np.ndarray:
    if pre.mean_one and not np.mean(data.y) > 0:
        raise MimflowError(f"preprocessing {pre.name!r} assumes labels normalised to mean 1, but mean(y) = "
                           f"{np.mean(data.y):.4g} <= 0: choose another preprocessing")
    return np.asarray(pre.apply(jnp.asarray(data.y)), dtype=np.float64)


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
                              dtype=np.float64, progress=None, batched: bool | None = None) -> SpectralRun:
    """Squared overlaps and top eigenvalues of the spectral estimator at ``n = round(alpha d)``, one per seed.

    Args:
        link, preprocess, noise, clip: as in :func:`sample_spectral_data` and :func:`spectral_estimate`.
        alpha: ``n/d``; the Mondelli-Montanari forms use this ``alpha`` (not ``n/d`` after rounding).
        d: dimension; seeds: list of integer seeds.
        progress: called with the fraction done after each seed.
        batched: run all seeds in one vmapped Lanczos call (:func:`top_eigenpairs_batched`); default:
            when ``dtype`` is float64, there are several seeds and the stacked data fit in
            :data:`BATCH_BYTES`. Otherwise seeds run one after another with ARPACK.
    """
    if not (isinstance(alpha, (int, float, np.floating, np.integer)) and math.isfinite(alpha) and alpha > 0):
        raise MimflowError(f"alpha must be a positive number, got {alpha!r}")
    n = max(1, int(round(alpha * d)))
    pre = make_preprocessing(preprocess, alpha=alpha, clip=clip)
    ov, lam, mv = [], [], []
    seeds = [int(s) for s in seeds]
    if batched is None:
        batched = np.dtype(dtype) == np.float64 and len(seeds) > 1 and len(seeds) * n * d * 8 <= BATCH_BYTES
    if batched:
        datas = [sample_spectral_data(link, d, n, noise=noise, key=seed_key(seed), dtype=dtype) for seed in seeds]
        X = np.stack([dt.X for dt in datas])
        t = np.stack([_weights(dt, pre) for dt in datas])
        lam_b, vec_b, mv_b = top_eigenpairs_batched(X, t)
        ov_b = np.array([float(v @ dt.w_star) ** 2 for v, dt in zip(vec_b, datas)])
        if progress is not None:
            progress(1.0)
        return SpectralRun(seeds, ov_b, np.asarray(lam_b), np.asarray(mv_b))
    for i, seed in enumerate(seeds):
        data = sample_spectral_data(link, d, n, noise=noise, key=seed_key(seed), dtype=dtype)
        est = spectral_estimate(data, pre)
        ov.append(est.overlap2)
        lam.append(est.eigenvalue)
        mv.append(est.matvecs)
        del data
        if progress is not None:
            progress((i + 1) / len(seeds))
    return SpectralRun(seeds, np.array(ov), np.array(lam), np.array(mv))
