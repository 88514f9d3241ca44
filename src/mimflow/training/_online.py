r"""Online SGD and full-batch GD drivers: jit + ``fori_loop`` over steps in chunks, ``vmap`` over seeds.

Time mapping: a run of ``N`` steps with step size :math:`\eta` is saved at times
:math:`t = \eta\cdot\mathrm{step}` (the batch size does not enter: a step uses the batch mean), the
units of the population flows of :mod:`mimflow.dynamics` (loss with the factor 1/2, unit learning
rate), whose :math:`\eta \to 0` limit they are; see :mod:`mimflow.training._engines` for the
first-order noise correction.

Mechanics: the seeds' states are stacked and advanced by one jitted loop whose trip count is a
traced integer, so every segment between two save steps (cut into chunks of at most ``chunk``
steps) reuses one compiled program; between chunks the driver reports progress and checks for
divergence. Only the overlaps (and the link/second-layer parameters) are kept, never ``W`` histories
or datasets (online learning draws its samples inside the loop from per-seed keys
``fold_in(key, seed)``).

Speed (issue 6, section 4): all state-independent randomness (the ``d``-dimensional samples; for the
reduced chain the batch coordinates, label noise, Bartlett normals and chi-squares) is drawn per
block of steps for all seeds at once, outside the step loop, into a buffer of ~1 MiB
(:data:`BLOCK_NUMBERS`, cache-sized); the step loop then consumes slices. Step ``s`` of a seed draws
from ``fold_in(seed_key, s)`` only, so the numbers do not depend on the blocks, the chunks or the
other seeds (they changed once, when block drawing was introduced for issue 6, section 4: the
reduced chain now turns random bits into normals/uniforms itself and uses one chi-square proposal per
variate; the full engine's samples are the same as before, its retraction rounds differently).
"""

from __future__ import annotations

import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics import Trajectory
from mimflow.training._algorithms import TrainingAlgorithm
from mimflow.training._engines import (
    FullState,
    ReducedState,
    full_batch_step,
    full_initial,
    full_overlaps,
    full_step_from,
    full_step_samples,
    reduced_initial,
    reduced_numbers_per_step,
    reduced_step_from,
    reduced_block_randomness,
    retract_weights_batch,
)
from mimflow.training._scaling import resolve_learning_rate, resolve_size

ENGINES = ("reduced", "full")
SAVE_GRIDS = ("log", "linear")
MAX_OVERLAP = 1e6
"""Above this entry size of ``Q`` (free students) a run is declared divergent."""


def save_steps(steps: int, n_save: int = 200, grid: str = "log") -> np.ndarray:
    """Distinct save steps ``0 = s_0 < ... < s_last = steps`` (log-spaced from step 1, or linear)."""
    if grid not in SAVE_GRIDS:
        raise MimflowError(f"save grid must be one of {', '.join(SAVE_GRIDS)}, got {grid!r}")
    if isinstance(n_save, bool) or not isinstance(n_save, (int, np.integer)) or n_save < 2:
        raise MimflowError(f"n_save must be an integer >= 2, got {n_save!r}")
    if grid == "log":
        inner = np.unique(np.round(np.logspace(0, np.log10(steps), n_save - 1)).astype(np.int64))
    else:
        inner = np.unique(np.round(np.linspace(0, steps, n_save)).astype(np.int64))
    return np.unique(np.concatenate([[0], inner, [steps]]))


def _seed_keys(seeds, key) -> tuple[np.ndarray, jax.Array, jax.Array]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise MimflowError(f"seeds must be a positive count or a list of seeds, got {seeds}")
        seeds = np.arange(int(seeds))
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    if seeds.size == 0 or len(set(seeds.tolist())) != seeds.size or np.any(seeds < 0):
        raise MimflowError(f"seeds must be distinct non-negative integers, got {seeds.tolist()}")
    base = jax.random.PRNGKey(0) if key is None else key
    keys = jax.vmap(lambda s: jax.random.split(jax.random.fold_in(base, s)))(jnp.asarray(seeds, dtype=jnp.uint32))
    return seeds, keys[:, 0], keys[:, 1]


def _check_common(algo, d, steps):
    if not isinstance(algo, TrainingAlgorithm):
        raise MimflowError(f"expected a TrainingAlgorithm (from make_algorithm), got {type(algo).__name__}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise MimflowError(f"d must be an integer, got {d!r}")
    if d < algo.r + algo.p + 1:
        raise MimflowError(f"d = {d} is too small: need d > r + p = {algo.r + algo.p}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise MimflowError(f"steps must be a positive integer, got {steps!r}")


# ----------------------------------------------------------------------------- compiled segments


BLOCK_NUMBERS = 1 << 17
"""Size (float64 numbers, 1 MiB) of the per-block buffer of pre-drawn randomness (all seeds): small
enough to stay in cache (a 40 MiB buffer made threefry 4x slower per number here)."""
MAX_BLOCK_STEPS = 1024


def block_steps(numbers_per_seed_step: int, seeds: int, cap: int = MAX_BLOCK_STEPS) -> int:
    """Steps per block of pre-drawn randomness: as many as fit in :data:`BLOCK_NUMBERS` (1 to ``cap``)."""
    return int(max(1, min(cap, BLOCK_NUMBERS // max(1, numbers_per_seed_step * seeds))))


BLOCK_RATIO = 16
"""Ratio between the successive block lengths a segment chooses from (``L, L/16, ..., 1``)."""


def _blocked_loop(step0, n, states, length: int, draw, step_all):
    """Advance ``states`` by ``n`` steps from ``step0``, by blocks of pre-drawn randomness.

    Per block of ``m`` steps, ``draw(states, steps)`` returns the block's randomness with the step axis
    first, and a ``fori_loop`` feeds its slices to ``step_all(step, states, slice)``. ``m`` is the
    largest of ``length, length/16, ..., 1`` not above the steps left (a ``lax.switch`` between
    programs of those static lengths), so no drawn number is wasted however short the segment.
    """
    end = step0 + n
    lengths = [length]
    while lengths[-1] > 1:
        lengths.append(max(1, lengths[-1] // BLOCK_RATIO))

    def run(m):
        def go(s, st):
            rand = draw(st, s + jnp.arange(m, dtype=s.dtype))
            body = lambda i, st: step_all(s + i, st, jax.tree_util.tree_map(lambda a: a[i], rand))  # noqa: E731
            return s + m, jax.lax.fori_loop(0, m, body, st)
        return go

    branches = [run(m) for m in lengths]

    def block(carry):
        s, st = carry
        left = end - s
        index = sum((left < m).astype(jnp.int32) for m in lengths[:-1])  # first length <= left
        return jax.lax.switch(index, branches, s, st)

    return jax.lax.while_loop(lambda c: c[0] < end, block, (step0, states))


@partial(jax.jit, static_argnames=("algo", "batch"))
def _reduced_segment(algo, batch, d, eta, step0, n, states):
    """``n`` steps of the reduced chain for all seeds from ``step0``; returns ``(step, states)``.

    The state-independent randomness (:func:`~mimflow.training._engines.reduced_block_randomness`) is drawn
    per block of steps for all seeds at once (vectorised threefry and chi-square rejection loop), outside
    the step loop; the steps then only do small arithmetic. The numbers of a step depend only on its
    seed's key and step index, not on the blocks.
    """
    length = block_steps(reduced_numbers_per_step(algo, batch), states.M.shape[0])
    step_all = jax.vmap(lambda s, st, rand: reduced_step_from(algo, d, eta, batch, s, st, *rand), in_axes=(None, 0, 0))

    def draw(st, steps):
        return reduced_block_randomness(algo, batch, d, st.key, steps)  # (L, S, ...): a step's slice is contiguous

    return _blocked_loop(step0, n, states, length, draw, step_all)


@partial(jax.jit, static_argnames=("algo", "batch", "d", "sample_dtype"))
def _full_segment(algo, batch, d, eta, step0, n, states, sample_dtype=jnp.float64):
    """``n`` SGD steps on ``d``-dimensional samples for all seeds from ``step0``; returns ``(step, states)``.

    The samples of a block of steps are drawn at once for all seeds (``(L, S, B, d)``, per-step keys
    ``fold_in(seed_key, step)``, so the numbers are those of a draw per step), then each step updates
    every seed and retracts all seeds together (:func:`~mimflow.training._engines.retract_weights_batch`).
    """
    length = block_steps(batch * d, states.W.shape[0], cap=256)
    per_seed = jax.vmap(lambda k, s: full_step_samples(d, batch, k, s, sample_dtype), in_axes=(0, None))
    per_step = jax.vmap(per_seed, in_axes=(None, 0))
    step_all = jax.vmap(lambda s, st, X: full_step_from(algo, d, eta, batch, s, st, X), in_axes=(None, 0, 0))

    def step_and_retract(s, st, X):
        W, params, key = step_all(s, st, X)
        return FullState(retract_weights_batch(algo.constraint, W), params, key)

    return _blocked_loop(step0, n, states, length, lambda st, steps: per_step(st.key, steps), step_and_retract)


@partial(jax.jit, static_argnames=("algo",))
def _reduced_init(algo, d, init_keys, run_keys):
    M, Q = jax.vmap(lambda k: reduced_initial(algo, d, k))(init_keys)
    params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (init_keys.shape[0],) + a.shape),
                                    algo.params0)
    return ReducedState(M, Q, params, run_keys)


@partial(jax.jit, static_argnames=("algo", "d"))
def _full_init(algo, d, init_keys, run_keys):
    W = jax.vmap(lambda k: full_initial(algo, d, k))(init_keys)
    params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(jnp.asarray(a), (init_keys.shape[0],) + a.shape),
                                    algo.params0)
    return FullState(W, params, run_keys)


@partial(jax.jit, static_argnames=("algo",))
def _observe(algo, M, Q, params):
    risk = jax.vmap(algo.risk)(M, Q, params)
    return risk


@partial(jax.jit, static_argnames=("algo",))
def _full_observe(algo, W):
    return jax.vmap(lambda w: full_overlaps(algo, w))(W)


# ----------------------------------------------------------------------------- records


class _Recorder:
    def __init__(self, algo: TrainingAlgorithm, seeds):
        self.algo, self.seeds = algo, seeds
        self.M, self.Q, self.loss, self.c = [], [], [], []

    def record(self, M, Q, params, step: int, eta: float) -> None:
        algo = self.algo
        risk = np.asarray(_observe(algo, M, Q, params))
        M, Q = np.asarray(M), np.asarray(Q)
        bad = ~(np.all(np.isfinite(M), axis=(1, 2)) & np.all(np.isfinite(Q), axis=(1, 2)) & np.isfinite(risk))
        if algo.constraint == "free":
            bad |= np.max(np.abs(Q), axis=(1, 2)) > MAX_OVERLAP
        if "theta" in params:
            bad |= ~np.all(np.isfinite(np.asarray(params["theta"])), axis=1)
        if np.any(bad):
            raise MimflowError(
                f"training diverged (non-finite or exploding overlaps) at step {step} for seeds "
                f"{self.seeds[bad].tolist()[:5]}: the step size lr = {eta:.3g} is probably too large for this d;"
                " use a smaller lr (e.g. lr = eta0/d with eta0 < 1) or a larger batch"
            )
        self.M.append(M)
        self.Q.append(Q)
        self.loss.append(risk)
        if "c" in params:
            self.c.append(np.asarray(params["c"]))

    def trajectory(self, t, d, engine, info) -> Trajectory:
        algo = self.algo
        S = len(self.seeds)
        M = np.stack(self.M, axis=1)
        Q = np.stack(self.Q, axis=1) if algo.constraint != "stiefel" else None
        c = np.stack(self.c, axis=1) if self.c and algo.options.get("train_second_layer") else None
        return Trajectory(
            t=np.asarray(t, dtype=float), M=M, loss=np.stack(self.loss, axis=1), d=int(d), seeds=self.seeds,
            algorithm=algo.name, link=algo.link, converged=np.zeros(S, dtype=bool),
            t_stop=np.full(S, float(t[-1])), n_steps=np.full(S, int(info["steps"])), info=info, Q=Q, second_layer=c,
        )


def train_online(
    algorithm: TrainingAlgorithm,
    *,
    d: int,
    steps: int,
    lr,
    batch=1,
    seeds=8,
    engine: str = "reduced",
    n_save: int = 200,
    save_grid: str = "log",
    chunk: int = 10_000,
    progress=None,
    key=None,
    sample_dtype: str = "float64",
) -> Trajectory:
    r"""Online SGD on fresh Gaussian samples, every seed at once.

    Args:
        algorithm: from :func:`make_algorithm`.
        d: input dimension.
        steps: number of SGD steps ``N``.
        lr: step size :math:`\eta` (a number) or ``Scaling(eta0, delta)`` for :math:`\eta_0 d^{-\delta}`.
        batch: samples per step (int) or ``Scaling(b0, mu)`` for :math:`b_0 d^{\mu}`.
        seeds: a count ``S`` (seeds ``0..S-1``) or a list of seeds; seed ``s`` uses ``fold_in(key, s)``.
        engine: ``"reduced"`` (exact Gram-matrix chain, cost independent of ``d``) or ``"full"``
            (``d``-dimensional samples).
        n_save: number of save steps (log or linear grid, always including 0 and ``N``).
        chunk: at most this many steps per compiled call (progress and divergence checks in between).
        progress: ``progress(fraction)`` called between chunks.
        key: base PRNG key (default ``PRNGKey(0)``).
        sample_dtype: ``"float64"`` or ``"float32"`` for the Gaussian draws of the full engine.

    Returns:
        :class:`~mimflow.dynamics.Trajectory` with ``t = eta * save_steps`` (``(T,)``), ``M`` ``(S, T, r, p)``,
        ``loss`` (closed-form population risk) ``(S, T)``, ``Q`` ``(S, T, p, p)`` unless Stiefel, ``info``
        with ``lr``, ``batch``, ``engine``, ``steps``, ``time_mapping``, ``wall_seconds``, ``steps_per_second``.

    Raises:
        MimflowError: bad hyperparameters, or divergence (never a stored NaN).
    """
    _check_common(algorithm, d, steps)
    if engine not in ENGINES:
        raise MimflowError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if sample_dtype not in ("float64", "float32"):
        raise MimflowError(f"sample_dtype must be float64 or float32, got {sample_dtype!r}")
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise MimflowError(f"chunk must be a positive integer, got {chunk!r}")
    eta = resolve_learning_rate(lr, d)
    B = resolve_size("batch", batch, d)
    if algorithm.constraint != "free" and eta * np.sqrt(d / B) > 1.0:
        raise MimflowError(
            f"the step size lr = {eta:.3g} is too large for d = {d} (batch {B}): one step moves the student by"
            f" ~ lr * sqrt(d / batch) = {eta * np.sqrt(d / B):.3g} > 1, so the samples' noise swamps the signal;"
            " use lr well below sqrt(batch / d) (e.g. lr = eta0 / d with eta0 < 1)"
        )
    seeds, init_keys, run_keys = _seed_keys(seeds, key)
    marks = save_steps(int(steps), n_save, save_grid)
    start = time.perf_counter()
    rec = _Recorder(algorithm, seeds)
    if engine == "reduced":
        d_arr = jnp.float64(d)
        state = _reduced_init(algorithm, d_arr, init_keys, run_keys)

        def advance(st, step0, n):
            return _reduced_segment(algorithm, B, d_arr, jnp.float64(eta), jnp.int64(step0), jnp.int64(n), st)[1]

        def observe(st):
            return st.M, st.Q, st.params
    else:
        dtype = jnp.float32 if sample_dtype == "float32" else jnp.float64
        state = _full_init(algorithm, int(d), init_keys, run_keys)

        def advance(st, step0, n):
            return _full_segment(algorithm, B, int(d), jnp.float64(eta), jnp.int64(step0), jnp.int64(n), st,
                                 sample_dtype=dtype)[1]

        def observe(st):
            M, Q = _full_observe(algorithm, st.W)
            return M, Q, st.params

    rec.record(*observe(state), 0, eta)
    jax.block_until_ready(advance(state, 0, 0))  # compile outside the timed loop
    compile_seconds = time.perf_counter() - start
    done = 0
    describe = getattr(progress, "describe", None)
    loop_start = time.perf_counter()
    for target in marks[1:]:
        while done < target:
            n = int(min(chunk, target - done))
            state = advance(state, done, n)
            done += n
            if progress is not None:
                progress(done / steps)
                if describe is not None:
                    jax.block_until_ready(state)
                    describe(f"{done / max(time.perf_counter() - loop_start, 1e-9):.3g} steps/s")
        rec.record(*observe(state), done, eta)
    seconds = time.perf_counter() - start
    loop_seconds = time.perf_counter() - loop_start
    info = {
        "engine": engine, "lr": eta, "batch": B, "steps": int(steps), "save_grid": save_grid,
        "time_mapping": "t = step * lr", "noise": algorithm.noise, "constraint": algorithm.constraint,
        "wall_seconds": seconds, "compile_seconds": compile_seconds,
        "steps_per_second": steps / max(loop_seconds, 1e-12),
        "seed_steps_per_second": steps * len(seeds) / max(loop_seconds, 1e-12),
        **{k: v for k, v in algorithm.options.items() if isinstance(v, (int, float, str, bool))},
    }
    return rec.trajectory(marks * eta, d, engine, info)


@partial(jax.jit, static_argnames=("algo", "n", "d"))
def _draw_sample(algo, n, d, key):
    from mimflow.training._engines import _constants, _labels

    _, _, U = _constants(algo)
    k1, k2 = jax.random.split(key)
    X = jax.random.normal(k1, (n, d), dtype=jnp.float64)
    Z = X[:, : algo.r] @ U
    return X, Z, _labels(algo, Z, k2)


@partial(jax.jit, static_argnames=("algo",))
def _full_batch_segment(algo, eta, step0, n, X, Z, y, W, params):
    step_all = jax.vmap(lambda s, x, z, yy, w, p: full_batch_step(algo, eta, x, z, yy, s, w, p),
                        in_axes=(None, 0, 0, 0, 0, 0))

    def body(i, carry):
        step, W, params = carry
        W, params = step_all(step, X, Z, y, W, params)
        return step + 1, W, params

    return jax.lax.fori_loop(0, n, body, (step0, W, params))


def train_full_batch(
    algorithm: TrainingAlgorithm,
    *,
    d: int,
    n_samples,
    steps: int,
    lr,
    seeds=4,
    n_save: int = 100,
    save_grid: str = "linear",
    chunk: int = 1000,
    progress=None,
    key=None,
) -> Trajectory:
    r"""Full-batch gradient descent on a fixed sample of ``n`` points per seed (``d``-dimensional only).

    ``n_samples`` is an int or ``Scaling(alpha, kappa)`` for :math:`n = \alpha d^\kappa`. Each step uses the
    mean gradient over the ``n`` points (for two-timescale the link is refitted on the same sample every
    step, or EMA-updated with ``link_fit="running"``). Same :class:`~mimflow.dynamics.Trajectory` and
    time mapping ``t = step * lr`` as :func:`train_online`; memory ``S * n * d``.
    """
    _check_common(algorithm, d, steps)
    n = resolve_size("n_samples", n_samples, d)
    S_count = seeds if isinstance(seeds, (int, np.integer)) else len(seeds)
    if n * d * S_count > 4 * 10**8:
        raise MimflowError(f"n * d * seeds = {n * d * S_count:.3g} floats is too much memory for full-batch GD: "
                           "lower n_samples, d or seeds")
    eta = resolve_learning_rate(lr, d)
    seeds, init_keys, run_keys = _seed_keys(seeds, key)
    marks = save_steps(int(steps), n_save, save_grid)
    start = time.perf_counter()
    X, Z, y = jax.vmap(lambda k: _draw_sample(algorithm, n, int(d), k))(run_keys)
    state = _full_init(algorithm, int(d), init_keys, run_keys)
    W, params = state.W, state.params
    rec = _Recorder(algorithm, seeds)

    def observe(W, params):
        M, Q = _full_observe(algorithm, W)
        return M, Q, params

    rec.record(*observe(W, params), 0, eta)
    done = 0
    for target in marks[1:]:
        while done < target:
            k = int(min(chunk, target - done))
            _, W, params = _full_batch_segment(algorithm, jnp.float64(eta), jnp.int64(done), jnp.int64(k), X, Z, y,
                                               W, params)
            done += k
            if progress is not None:
                progress(done / steps)
        rec.record(*observe(W, params), done, eta)
    seconds = time.perf_counter() - start
    info = {"engine": "full-batch", "lr": eta, "n_samples": n, "steps": int(steps), "save_grid": save_grid,
            "time_mapping": "t = step * lr", "noise": algorithm.noise, "constraint": algorithm.constraint,
            "wall_seconds": seconds, "steps_per_second": steps / max(seconds, 1e-12)}
    return rec.trajectory(marks * eta, d, "full-batch", info)
