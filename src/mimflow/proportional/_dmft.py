r"""Discrete-time DMFT of full-batch GD on a single-index model (docs/math/dmft.md §3.3), solved by Monte Carlo.

Internal convention of docs/math/dmft.md §3.2 (``X`` with ``N(0, 1/d)`` entries, ``theta = sqrt(d) w``,
``eta = eta~/alpha``, ``lambda = alpha lambda~``, ``rho = E theta*^2 = 1``). Every step ``k`` of the
algorithm is a first-order step ``theta^{k+1} = a_k theta^k - b_k X^T g^k`` with ``g^k = G_k(r^k; y)``,
``r^k = X theta^k``:

* GD: ``a_k = 1 - eta lambda``, ``b_k = eta``, ``G_k = l'``;
* shifted, normalised power iteration (the spectral start, docs/math/dmft.md §3.3): ``a_k = s_k c``,
  ``b_k = s_k``, ``G_k(r; y) = -T(y) r`` (so ``dG/dy = -T'(y) r`` carries the signal).

**Coordinate (theta-side) process.** Linear in its Gaussian input, so it is carried *exactly* by
coefficients: ``theta^k = A_k theta^0 + B_k theta* + sum_{s<k} R_theta(k, s) u^s`` with ``u ~ N(0, C_g)``
independent of ``(theta^0, theta*)``:

.. math::

    A_{k+1} &= a_k A_k - b_k \textstyle\sum_{s\le k} R_g(k,s) A_s,\qquad
    B_{k+1} = a_k B_k - b_k \textstyle\sum_{s\le k} R_g(k,s) B_s - b_k \nu_k,\\
    R_\theta(k+1, s) &= a_k R_\theta(k,s) - b_k \textstyle\sum_{q=s+1}^{k} R_g(k,q) R_\theta(q,s) + b_k 1[s=k],

so ``m_k = m_0 A_k + B_k`` and ``C_theta = q_0 A A^T + m_0 (A B^T + B A^T) + B B^T + R_theta C_g R_theta^T``.
For the power iteration ``s_k`` makes ``C_theta(k+1, k+1) = 1`` (deterministic in the limit).

**Sample (r-side) process**, by Monte Carlo over ``N`` paths: ``(r*, w^0, w^1, ...)`` centred
Gaussian with ``E r*^2 = 1``, ``E w^k r* = m_k``, ``E w^k w^s = C_theta(k, s)``; ``y = f(r*) + sigma eps``;
``r^k = w^k - sum_{s<k} R_theta(k, s) g^s``. Each new ``w^k`` is generated in *square-root form*
(docs/math/dmft.md §3.3.1, :mod:`._dmft_sampling`): ``w^k = m_k r* + sqrt(q_0 - m_0^2) A_k zeta +
sqrt(alpha/N) sum_j (R_theta L_g)(k, j) xi_j``, with ``L_g`` the Gram-Schmidt factor of the paths' ``g``
(``C_g = (alpha/N) L_g L_g^T``) and one fresh normal ``xi_j`` per path and direction: the Gaussian process
of covariance ``C_theta`` exactly, with no inverse of the (near-singular, once GD converges) past
covariance. (The regression on the past with an eigenvalue cutoff used before biased the long-time limit
upward, issue 12 item 8.)
The kernels are sample means:

.. math::

    C_g(k,s) = \alpha E[g^k g^s],\quad R_g(k,s) = \alpha E\Big[\frac{\partial g^k}{\partial w^s}\Big]\ (s\le k),
    \quad \nu_k = \alpha E\Big[\frac{\partial g^k}{\partial r^*}\Big].

Pathwise derivatives: ``dr^k/dr*`` goes forward (one stored row per step); the row
``dg^k/dw^s = G_k'(r^k) a_s`` comes from an adjoint sweep ``a_k = 1``,
``a_q = -G_q'(r^q) sum_{q<p<=k} R_theta(p, q) a_p`` that needs only the stored ``(T, N)`` arrays of
``G'`` (no ``(T, T, N)`` tensor). The sweep is blocked: within a block of ``BLOCK`` times it is
sequential, across blocks it is one matrix product shared by all paths, so the ``O(T^3 N)`` cost
runs at matrix-multiply speed; it runs one batch at a time so that a batch's arrays stay in cache.
The whole step, sampling included, is one compiled function of static shapes (time axis padded to a
multiple of ``BLOCK`` and masked); nothing runs on the host between steps.

**Cost** for ``T`` steps in all (power-iteration prefix ``K`` included) and ``N`` paths:
``O(T^3 N / 6)`` multiply-adds in the adjoint sweeps (the dominant term), ``O(T^2 N)`` for the rest
of the r-side (sampling and Gram-Schmidt included), ``O(T^3)`` per batch for the theta side and the factor
``R_theta L_g``; memory ``O(T N + T^2)``.

**Error bars.** The paths are split into ``batches`` independent DMFT solutions (vmapped); the
reported value is their mean and the error bar ``std / sqrt(batches)``, the standard error of the
mean. The kernels' ``O(batches/N)`` bias is not in that error bar: BENCHMARKS.md (issue 12 item 8:
not resolved between 250 and 2000 paths per batch) and ``tests/test_dmft.py`` measure it against closed
forms, the fixed point and long GD runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401  (x64)
from mimflow._errors import MimflowError
from mimflow._seeds import seed_key
from mimflow.proportional._dmft_convergence import long_time_diagnostic, tti_defect
from mimflow.proportional._dmft_step import BLOCK, init_state, make_step
from mimflow.proportional._population import test_error
from mimflow.proportional._problem import _has_jump, shift_bound

__all__ = ["DMFTSolution", "solve_dmft"]

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
    ``shift`` ``c``, ``paths`` ``N`` and ``seconds``; ``long_time`` ``{"overlap", "norm2"}`` of
    :class:`._dmft_convergence.LongTime` (fitted exponential rate, extrapolated limit, drift, settled
    or not) and ``tti_defect`` (time-translation defect of ``R_theta`` at the last step).
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
    long_time: dict | None = None
    tti_defect: float = float("nan")


_STEP_CACHE: dict = {}


def _make_step(problem, n_time: int, nu_estimator: str):
    """The jitted DMFT step of :mod:`._dmft_step` (cached: it depends only on the loss, ``alpha``, the
    buffer length and the ``nu`` estimator).

    One compiled step for all ``k`` (the time axis is padded to ``n_time`` and masked). Measured
    (1e5 paths, 112-step buffer): compiling one step per active prefix length ``16, 32, ...`` so that
    step ``k`` reads only ``~k`` rows was 4x *slower* (the sliced views of the donated buffers are
    copied) and compiled seven times.
    """
    key = (problem.loss.name, problem.loss.formula, problem.alpha, n_time, nu_estimator)
    if key not in _STEP_CACHE:
        if len(_STEP_CACHE) > 16:
            _STEP_CACHE.clear()
        _STEP_CACHE[key] = make_step(problem, n_time, nu_estimator == "stein")
    return _STEP_CACHE[key]


def _round_up(n: int) -> int:
    return BLOCK * (-(-int(n) // BLOCK))


def _pad_state(state: dict, old: int, new: int) -> dict:
    """Zero-pad every time axis of the DMFT state from ``old`` (or ``old + 1``) to ``new`` (``new + 1``)."""
    out = {}
    for name, x in state.items():
        pads = [(0, 0)] * x.ndim
        for ax in range(1, x.ndim):
            if name in ("y", "fp", "Ty", "dTy", "zeta"):
                break
            if ax == x.ndim - 1 and name in ("Z", "G", "D", "H", "Q"):
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
        key / seed: the PRNG key (``seed_key(seed)``, docs/conventions.md, if ``key`` is None).
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
        tree = getattr(problem.link, "tree", None)
        nu_estimator = "stein" if tree is not None and _has_jump(tree) else "pathwise"
    key = seed_key(seed) if key is None else key
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
    state = init_state(problem, n_time, batches, N, k_init, q0, m0, mean_y)
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
            state, _ = step(state, k, False, shift, 1.0, True, q0, m0, jax.random.split(sub, batches))
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
        state, train = step(state, k, True, gd_a, gd_b, False, q0, m0, jax.random.split(sub, batches))
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
    long_time = {"overlap": long_time_diagnostic(m), "norm2": long_time_diagnostic(Cd)}
    tti = tti_defect(kernels["Rth"], K + n_steps) if n_steps >= 4 else float("nan")
    return DMFTSolution(np.arange(n_steps + 1), mo, mse_, qo, qse, tro, trse, teo, tese, m, Cd, train, kernels,
                        K, power_residual, shift, paths, batches, time.perf_counter() - start_time, long_time, tti)
