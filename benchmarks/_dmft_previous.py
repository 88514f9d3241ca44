"""Frozen copy of ``mimflow.proportional._dmft`` at commit 8f43bac (before issue 12 item 8 / issue 17, 2026-12-03):
the baseline that ``bench_dmft.py`` times in the same process (with the warm:M convention of issue 12
item 5 applied, so that both solve the same problem). Not part of the package; not maintained.

Its conditional sampling regresses on the whole past with an eigenvalue pseudo-inverse on the host
(``O(T^3)`` per step, ``O(T^4)`` per solve) and drops eigen-directions below ``1e-7`` times the largest
correlation eigenvalue (``~ k``); the variance they explained becomes fresh noise (suspected source of
the long-time bias of issue 12 item 8: BENCHMARKS.md).
"""
# (the equations are in the docstring of mimflow/proportional/_dmft.py at commit 8f43bac, of which this is a copy)
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

import mimflow  # noqa: F401  (x64)
from mimflow import MimflowError

__all__ = ["DMFTSolution", "solve_dmft"]

PINV_RTOL = 1e-7
"""Relative eigenvalue cutoff of the pseudo-inverse in the conditional sampling."""

BLOCK = 16
"""Block size (in time) of the adjoint sweep."""

PLATEAU_STEPS = 15
"""The power iteration also stops when its residual has not halved over this many steps (noise floor)."""

PLATEAU_MAX = 1e-4
"""...but a residual above this at the end of the power iteration is an error (no spectral gap)."""

MAX_SHIFT_FACTOR = 10.0
"""Refuse spectral starts whose power-iteration shift exceeds this times ``(1 + sqrt(alpha))^2``."""


@dataclass(frozen=True)
class DMFTSolution:
    """DMFT prediction for GD steps ``t = 0..T`` (after the spectral prefix, if any).

    Arrays of shape ``(T + 1,)``: ``overlap`` (``m_t``), ``norm2`` (``q_t``), ``train_error``,
    ``test_error``, each with ``*_se`` (Monte Carlo standard error over ``batches``). Also the
    per-batch arrays ``batch_overlap`` etc. ``(batches, T + 1)``, ``kernels`` of the first batch (keys
    ``Cth``, ``Rth``, ``Cg``, ``Rg``, ``nu``, ``m`` over all ``K + T + 1`` steps, zero-padded; ``switch = K``
    is the index of the first GD step), ``power_steps`` ``K`` (0 for an
    independent start), ``power_residual`` (``(1 - corr(theta^K, theta^{K-1})) (1 + c/alpha)^2`` at the switch to GD),
    ``shift`` ``c``, ``paths`` ``N`` and ``seconds``.
    """

    steps: np.ndarray
    overlap: np.ndarray
    overlap_se: np.ndarray
    norm2: np.ndarray
    norm2_se: np.ndarray
    train_error: np.ndarray
    train_error_se: np.ndarray
    test_error: np.ndarray
    test_error_se: np.ndarray
    batch_overlap: np.ndarray
    batch_norm2: np.ndarray
    batch_train_error: np.ndarray
    kernels: dict
    power_steps: int
    power_residual: float
    shift: float
    paths: int
    batches: int
    seconds: float


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


def _adjoint_rows(R, D, k, n_time: int):
    """``a_s = d r^k / d w^s`` for ``s <= k`` on every path of every batch.

    ``R (B, Tt, Tt)`` strictly lower (``R_theta``), ``D (B, Tt, N)`` (``G'(r^q)``); returns ``(B, Tt, N)``.
    Blocked right-looking sweep over tiles of ``BLOCK`` times, from the tile holding ``k`` down to 0:
    inside a tile ``a_q = -D_q (acc_q + sum_{p in tile, p > q} R[p, q] a_p)`` sequentially (``a_k = 1``);
    then the tile's contribution ``R[tile, lower tile]^T a_tile`` is added to the accumulator of every
    lower tile (a ``BLOCK x BLOCK`` by ``BLOCK x N`` product each). Work ``~ k^2 N / 2`` per call.
    """
    n_blocks = n_time // BLOCK
    nb, _, N = D.shape
    top = k // BLOCK

    def block_body(i, carry):
        a, acc = carry
        j = top - i
        lo = j * BLOCK
        acc_blk = acc[j]  # (B, BLOCK, N)
        D_blk = jax.lax.dynamic_slice(D, (0, lo, 0), (nb, BLOCK, N))
        R_blk = jax.lax.dynamic_slice(R, (0, lo, lo), (nb, BLOCK, BLOCK))
        vals = [None] * BLOCK
        for q in range(BLOCK - 1, -1, -1):  # sequential inside the tile
            t = lo + q
            inner = acc_blk[:, q]
            for p in range(q + 1, BLOCK):
                inner = inner + R_blk[:, p, q, None] * vals[p]
            vals[q] = jnp.where(t == k, 1.0, jnp.where(t < k, -D_blk[:, q] * inner, 0.0))
        new_blk = jnp.stack(vals, axis=1)  # (B, BLOCK, N)
        a = a.at[j].set(new_blk)

        def lower(jj, acc):
            R_tile = jax.lax.dynamic_slice(R, (0, lo, jj * BLOCK), (nb, BLOCK, BLOCK))
            return acc.at[jj].add(jnp.einsum("bpq,bpn->bqn", R_tile, new_blk))

        acc = jax.lax.fori_loop(0, j, lower, acc)
        return a, acc

    zeros = jnp.zeros((n_blocks, nb, BLOCK, N))
    a, _ = jax.lax.fori_loop(0, top + 1, block_body, (zeros, zeros))
    return jnp.moveaxis(a, 0, 1).reshape(nb, n_time, N)


def _response_row(R, D, dg, k, n_time: int):
    """``E_paths[dg[n] d r^k / d w^s]`` for ``s < n_time``, per batch: ``(B, n_time)``.

    ``R (B, n_time, n_time)``, ``D (B, n_time, N)``, ``dg (B, N)`` (``G_k'(r^k)``). The adjoint sweep
    of :func:`_adjoint_rows` run one batch at a time (``lax.map``) and reduced over the paths at
    once, instead of vmapped over all batches with the ``(B, n_time, N)`` adjoint materialised: one
    batch's ``(n_time, N)`` working set stays in cache. Measured at 1e5 paths, ``k = 100``, a
    112-step buffer, 10 batches: 0.11 s against 0.35 s per step.
    """

    def one(args):
        r, d, x = args
        a = _adjoint_rows(r[None], d[None], k, n_time)[0]  # (n_time, N)
        return a @ x / x.shape[0]

    return jax.lax.map(one, (R, D, dg))


_STEP_CACHE: dict = {}


def _make_step(problem, n_time: int, nu_estimator: str):
    """The jitted DMFT step (cached: it depends only on the loss, ``alpha``, the buffer length and the
    ``nu`` estimator).

    One compiled step for all ``k`` (the time axis is padded to ``n_time`` and masked). Measured
    (1e5 paths, 112-step buffer): compiling one step per active prefix length ``16, 32, ...`` so that
    step ``k`` reads only ``~k`` rows was 4x *slower* (the sliced views of the donated buffers are
    copied) and compiled seven times.
    """
    key = (problem.loss.name, problem.loss.formula, problem.alpha, n_time, nu_estimator)
    if key not in _STEP_CACHE:
        if len(_STEP_CACHE) > 16:
            _STEP_CACHE.clear()
        _STEP_CACHE[key] = _build_step(problem, n_time, nu_estimator == "stein")
    return _STEP_CACHE[key]


def _build_step(problem, n_time: int, stein: bool):
    """The jitted DMFT step over all batches of paths."""
    alpha = problem.alpha
    loss = problem.loss

    def step_a(state, k, kind_gd, beta, var, key):
        Z, G, D, H, y, fp, Ty, dTy = (state[x] for x in ("Z", "G", "D", "H", "y", "fp", "Ty", "dTy"))
        Rth, nu = state["Rth"], state["nu"]
        N = Z.shape[1]
        # ---- conditional sample of w^k given (r*, w^0..w^{k-1})  (Z rows 0..k; beta from the host)
        xi = jax.random.normal(key, (N,))
        w = beta @ Z + jnp.sqrt(var) * xi
        Z = Z.at[k + 1].set(w)
        # ---- r^k, g^k and its derivatives
        Rk = Rth[k, :n_time]
        r = w - Rk @ G
        g_gd, d_gd, e_gd = loss.d1(r, y), loss.d2(r, y), loss.dy1(r, y)
        g_pi, d_pi, e_pi = -Ty * r, -Ty, -dTy * r
        g = jnp.where(kind_gd, g_gd, g_pi)
        dg = jnp.where(kind_gd, d_gd, d_pi)
        eg = jnp.where(kind_gd, e_gd, e_pi)
        train = jnp.mean(loss.value(r, y))
        G = G.at[k].set(g)
        D = D.at[k].set(dg)
        # ---- d r^k / d r*  (forward) and nu_k
        drs = -(Rk @ H)
        hk = dg * drs + eg * fp
        H = H.at[k].set(hk)
        nu = nu.at[k].set(alpha * jnp.mean(hk))
        return dict(state, Z=Z, G=G, D=D, H=H, nu=nu), train, dg

    def step_b(state, k, a_k, b_k, normalise, q0, m0):
        G = state["G"]
        Cth, Rth, A, B, Cg, Rg, nu, mvec = (state[x] for x in ("Cth", "Rth", "A", "B", "Cg", "Rg", "nu", "m"))
        N = G.shape[1]
        idx = jnp.arange(n_time + 1)
        g = G[k]
        # ---- C_g(k, s)
        cg_row = alpha * (G @ g) / N
        cg_row = jnp.where(jnp.arange(n_time) <= k, cg_row, 0.0)
        Cg = Cg.at[k].set(cg_row).at[:, k].set(cg_row)
        # ---- theta-side row k+1 (exact given the kernels)
        rg = Rg[k]
        A_new = a_k * A[k] - b_k * (rg @ A[:n_time])
        B_new = a_k * B[k] - b_k * (rg @ B[:n_time]) - b_k * nu[k]
        R_new = a_k * Rth[k] - b_k * (rg @ Rth[:n_time]) + b_k * (jnp.arange(n_time) == k)

        def cov_with(Aj, Bj, Rj):
            return q0 * A_new * Aj + m0 * (A_new * Bj + B_new * Aj) + B_new * Bj + R_new @ Cg @ Rj.T

        c_new_new = cov_with(A_new, B_new, R_new[None, :])[0]
        scale = jnp.where(normalise, 1.0 / jnp.sqrt(jnp.maximum(c_new_new, 1e-300)), 1.0)
        A_new, B_new, R_new = scale * A_new, scale * B_new, scale * R_new
        A = A.at[k + 1].set(A_new)
        B = B.at[k + 1].set(B_new)
        Rth = Rth.at[k + 1].set(R_new)
        c_row = cov_with(A, B, Rth)  # (n_time + 1,)
        c_row = jnp.where(idx <= k + 1, c_row, 0.0)
        Cth = Cth.at[k + 1].set(c_row).at[:, k + 1].set(c_row)
        mvec = mvec.at[k + 1].set(m0 * A_new + B_new)
        return dict(state, Cth=Cth, Rth=Rth, A=A, B=B, Cg=Cg, m=mvec)

    def step_batched(state, k, kind_gd, a_k, b_k, normalise, q0, m0, beta, var, keys):
        state, train, dg = jax.vmap(step_a, in_axes=(0, None, None, 0, 0, 0))(state, k, kind_gd, beta, var, keys)
        # R_g(k, s) = alpha E[G'(r^k) d r^k/d w^s] by the (batched) adjoint sweep
        rg_row = alpha * _response_row(state["Rth"][:, :n_time, :n_time], state["D"], dg, k, n_time)
        rg_row = jnp.where(jnp.arange(n_time)[None, :] <= k, rg_row, 0.0)
        state = dict(state, Rg=state["Rg"].at[:, k].set(rg_row))
        if stein:  # nu_k = alpha E[g^k r*] - sum_s m_s R_g(k, s)  (Gaussian integration by parts in r*)
            g_rstar = alpha * jnp.mean(state["G"][:, k] * state["Z"][:, 0], axis=1)
            nu_k = g_rstar - jnp.einsum("bt,bt->b", rg_row, state["m"][:, :n_time])
            state = dict(state, nu=state["nu"].at[:, k].set(nu_k))
        state = jax.vmap(step_b, in_axes=(0, None, None, None, None, None, None))(state, k, a_k, b_k, normalise, q0, m0)
        return state, train

    return jax.jit(step_batched, donate_argnums=0)


def _init_state(problem, n_time: int, batches: int, N: int, key, q0: float, m0: float, mean_y: float):
    """Initial r-side draws (``r*, eps``) and theta-side coefficients for ``theta^0``."""
    k1, k2 = jax.random.split(key)
    rstar = jax.random.normal(k1, (batches, N))
    eps = jax.random.normal(k2, (batches, N))
    y = problem.labels(rstar, eps)
    fp = problem.f_prime(rstar)
    if problem.init.kind == "spectral":
        Ty = problem.T(y, mean_y)
        dTy = problem.T_prime(y, mean_y)
        A0, B0 = 0.0, 1.0
    else:
        Ty = jnp.zeros_like(y)
        dTy = jnp.zeros_like(y)
        A0, B0 = 1.0, 0.0
    Z = jnp.zeros((batches, n_time + 1, N)).at[:, 0].set(rstar)
    A = jnp.zeros((batches, n_time + 1)).at[:, 0].set(A0)
    B = jnp.zeros((batches, n_time + 1)).at[:, 0].set(B0)
    c00 = q0 * A0 * A0 + 2 * m0 * A0 * B0 + B0 * B0
    Cth = jnp.zeros((batches, n_time + 1, n_time + 1)).at[:, 0, 0].set(c00)
    mvec = jnp.zeros((batches, n_time + 1)).at[:, 0].set(m0 * A0 + B0)
    def zeros_tn():
        return jnp.zeros((batches, n_time, N))

    return dict(Z=Z, G=zeros_tn(), D=zeros_tn(), H=zeros_tn(), y=y, fp=fp, Ty=Ty, dTy=dTy,
                Cth=Cth, Rth=jnp.zeros((batches, n_time + 1, n_time)), A=A, B=B,
                Cg=jnp.zeros((batches, n_time, n_time)), Rg=jnp.zeros((batches, n_time, n_time)),
                nu=jnp.zeros((batches, n_time)), m=mvec)


_BLAS_THREADS: list | None = None


def _blas_thread_controls() -> list:
    """``(get, set)`` pairs of the OpenBLAS libraries loaded in this process (found through
    ``/proc/self/maps``; empty where that does not exist or the symbols are absent)."""
    global _BLAS_THREADS
    if _BLAS_THREADS is None:
        import ctypes

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


def _regression(state: dict, k: int):
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


def _round_up(n: int) -> int:
    return BLOCK * (-(-int(n) // BLOCK))


def _pad_state(state: dict, old: int, new: int) -> dict:
    """Zero-pad every time axis of the DMFT state from ``old`` (or ``old + 1``) to ``new`` (``new + 1``)."""
    out = {}
    for name, x in state.items():
        pads = [(0, 0)] * x.ndim
        for ax in range(1, x.ndim):
            if name in ("y", "fp", "Ty", "dTy"):
                break
            if ax == x.ndim - 1 and name in ("Z", "G", "D", "H"):
                break  # the path axis
            if x.shape[ax] in (old, old + 1):
                pads[ax] = (0, new - old)
        out[name] = jnp.pad(x, pads)
    return out


def solve_dmft(problem, n_steps: int, *, paths: int = 20_000, batches: int = 10, key=None, seed: int = 0,
               power_steps: int | None = None, power_tol: float = 1e-9, max_power_steps: int = 200,
               nu_estimator: str = "auto",
               progress=None) -> DMFTSolution:
    """Solve the DMFT of GD (after the spectral prefix for ``init = spectral``) for ``n_steps`` steps.

    Args:
        problem: a :class:`._problem.ProportionalGD`.
        n_steps: number of GD steps ``T``.
        paths: total Monte Carlo paths ``N`` (split into ``batches`` independent solutions).
        batches: number of independent batches (error bars); ``paths`` must be divisible by it.
        key / seed: the PRNG key (``PRNGKey(seed)`` if ``key`` is None).
        power_steps: fixed number ``K`` of power-iteration steps for the spectral start; by default
            iterate until ``(1 - corr(theta^{k+1}, theta^k)) (1 + c/alpha)^2 < power_tol``, or until it stops
            decreasing (the Monte Carlo noise floor, ``PLATEAU_STEPS``), at most ``max_power_steps``; the
            reached value is ``DMFTSolution.power_residual``.
        nu_estimator: ``"pathwise"`` (``nu_k = alpha E[dg^k/dr*]`` through ``f'``), ``"stein"``
            (``nu_k = alpha E[g^k r*] - sum_s m_s R_g(k, s)``, Gaussian integration by parts in ``r*``:
            valid for links with jumps such as ``sign``, noisier for smooth ones) or ``"auto"`` (stein
            exactly when the link has a jump).
        progress: optional callable taking a fraction in ``[0, 1]``.

    Cost ``O((K+T)^3 N)`` time (at matrix-multiply speed) and ``O((K+T) N)`` memory.
    """
    from mimflow.proportional._population import test_error
    from mimflow.proportional._problem import shift_bound

    start_time = time.perf_counter()
    n_steps = int(n_steps)
    if n_steps < 0:
        raise MimflowError(f"steps must be >= 0, got {n_steps}")
    if batches < 2:
        raise MimflowError(f"batches must be >= 2 (error bars need independent batches), got {batches}")
    if paths % batches or paths // batches < 10:
        raise MimflowError(f"paths = {paths} must be a multiple of batches = {batches} with >= 10 paths per batch")
    N = paths // batches
    if nu_estimator not in ("auto", "pathwise", "stein"):
        raise MimflowError(f"nu_estimator must be auto, pathwise or stein, got {nu_estimator!r}")
    if nu_estimator == "auto":
        from mimflow.proportional._problem import _has_jump

        tree = getattr(problem.link, "tree", None)
        nu_estimator = "stein" if tree is not None and _has_jump(tree) else "pathwise"
    key = jax.random.PRNGKey(seed) if key is None else key
    init = problem.init
    spectral = init.kind == "spectral"
    if spectral:
        q0, m0 = 1.0, 1.0
        k_max = int(power_steps) if power_steps is not None else int(max_power_steps)
        k_guess = k_max if power_steps is not None else min(k_max, 48)
    else:
        q0 = init.norm**2
        m0 = init.overlap if init.kind == "warm" else 0.0  # warm:M is <w^0, w*> = M (not the cosine)
        k_max = k_guess = 0
    n_time = _round_up(k_guess + n_steps + 1)
    mean_y = problem.label_mean() if spectral else 1.0
    key, k_init = jax.random.split(key)
    state = _init_state(problem, n_time, batches, N, k_init, q0, m0, mean_y)
    shift = 0.0
    if spectral:
        ty = np.asarray(state["Ty"])
        if not np.all(np.isfinite(ty)):
            raise MimflowError(f"preprocessing {problem.preprocessing.name!r} is not finite on the labels: "
                               "use a bounded one (e.g. trimmed, or optimal with clip)")
        shift = shift_bound(problem.alpha, float(ty.min()))
        if shift > MAX_SHIFT_FACTOR * (1.0 + math.sqrt(problem.alpha)) ** 2:
            raise MimflowError(
                f"preprocessing {problem.preprocessing.name!r} reaches {float(ty.min()):.3g} on the labels: the power "
                f"iteration of the spectral start would need a shift c = {shift:.3g} and converge very slowly; "
                "use a bounded preprocessing (trimmed, or optimal with clip, e.g. --clip 1)")
    step = _make_step(problem, n_time, nu_estimator)
    gd_a, gd_b = 1.0 - problem.eta * problem.lam, problem.eta
    k = 0
    power_residual = 0.0
    K = 0
    history: list[float] = []
    if spectral:
        while K < k_max:
            if K + n_steps + 1 >= n_time:  # grow the time buffers (and recompile) as the prefix lengthens
                new_n = _round_up(min(k_max, 2 * K) + n_steps + 1)
                state = _pad_state(state, n_time, new_n)
                n_time = new_n
                step = _make_step(problem, n_time, nu_estimator)
            key, sub = jax.random.split(key)
            state, _ = step(state, k, False, shift, 1.0, True, q0, m0, *_regression(state, k), jax.random.split(sub, batches))
            k += 1
            K += 1
            C = np.asarray(state["Cth"][:, k - 1:k + 1, k - 1:k + 1]).mean(axis=0)
            # 1 - corr(theta^{k+1}, theta^k) shrinks like (spread of D along theta / (c + lambda))^2: undo the shift
            power_residual = float(1.0 - C[0, 1] / math.sqrt(C[0, 0] * C[1, 1])) * (1.0 + shift / problem.alpha) ** 2
            if progress is not None:
                progress(0.5 * K / (k_max + n_steps + 1))
            if power_steps is None:
                history.append(abs(power_residual))
                if history[-1] < power_tol:
                    break
                if K > PLATEAU_STEPS and min(history[-PLATEAU_STEPS:]) > 0.5 * min(history[:-PLATEAU_STEPS]):
                    break  # Monte Carlo noise floor: more steps do not converge further
        if power_steps is None and abs(power_residual) >= PLATEAU_MAX:
            raise MimflowError(
                f"the power iteration of the spectral start did not converge in {k_max} steps "
                f"(1 - corr = {power_residual:.2e}): the spectral gap is too small at this alpha; raise alpha, "
                "use another preprocessing, or set power_steps")
        # theta^K becomes the GD start with norm init.norm: rescale its row.
        kappa = init.norm
        state = dict(state)
        state["A"] = state["A"].at[:, K].multiply(kappa)
        state["B"] = state["B"].at[:, K].multiply(kappa)
        state["Rth"] = state["Rth"].at[:, K].multiply(kappa)
        state["Cth"] = state["Cth"].at[:, K].multiply(kappa).at[:, :, K].multiply(kappa)
        state["m"] = state["m"].at[:, K].multiply(kappa)
    trains = []
    for t in range(n_steps + 1):
        key, sub = jax.random.split(key)
        state, train = step(state, k, True, gd_a, gd_b, False, q0, m0, *_regression(state, k), jax.random.split(sub, batches))
        trains.append(train)
        k += 1
        if progress is not None:
            progress((K + t + 1) / (K + n_steps + 1))
    sl = slice(K, K + n_steps + 1)
    m = np.asarray(state["m"][:, sl])
    Cd = np.asarray(jnp.diagonal(state["Cth"], axis1=1, axis2=2)[:, sl])
    train = np.stack([np.asarray(x) for x in trains], axis=1)
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(Cd)) and np.all(np.isfinite(train))):
        raise MimflowError("the DMFT diverged (NaN/inf): GD itself diverges for this lr (lower lr or raise ridge)")
    test = test_error(problem, m, Cd)

    def mse(x):
        return x.mean(axis=0), x.std(axis=0, ddof=1) / math.sqrt(x.shape[0])

    (mo, mse_), (qo, qse), (tro, trse), (teo, tese) = mse(m), mse(Cd), mse(train), mse(test)
    kernels = {name: np.asarray(state[name][0]) for name in ("Cth", "Rth", "Cg", "Rg", "nu", "m")}
    kernels["switch"] = K
    return DMFTSolution(np.arange(n_steps + 1), mo, mse_, qo, qse, tro, trse, teo, tese, m, Cd, train, kernels,
                        K, power_residual, shift, paths, batches, time.perf_counter() - start_time)
