r"""Online SGD and full-batch GD drivers: jit + ``fori_loop`` over steps in chunks, ``vmap`` over seeds.

Time mapping: a run of ``N`` steps with step size :math:`\eta` is saved at times
:math:`t = \eta\cdot\mathrm{step}` (the batch size does not enter: a step uses the batch mean), the
units of the population flows of :mod:`mimflow.dynamics` (loss with the factor 1/2, unit learning
rate), whose :math:`\eta \to 0` limit they are; see :mod:`mimflow.training._reduced` for the
first-order noise correction.

Full-batch GD on a fixed sample: :func:`~mimflow.training.train_full_batch` (:mod:`mimflow.training._full_batch`).

Mechanics: the seeds' states are stacked and advanced by one jitted loop whose trip count is a
traced integer, so every segment between two save steps (cut into chunks of at most ``chunk``
steps) reuses one compiled program; between chunks the driver reports progress and checks for
divergence. Only the overlaps (and the link/second-layer parameters) are kept, never ``W`` histories
or datasets (online learning draws its samples inside the loop from per-seed keys
``fold_in(key, seed)``).

Speed (issue 6, section 4): all state-independent randomness (the ``d``-dimensional samples; for the
reduced chain the batch coordinates, label noise, Bartlett normals and chi-squares) is drawn per
block of steps for all seeds at once, outside the step loop, into a buffer of ~1 MiB
(:data:`~mimflow.training._segments.BLOCK_NUMBERS`, cache-sized; :mod:`mimflow.training._segments`); the step loop then consumes slices. Step ``s`` of a seed draws
from ``fold_in(seed_key, s)`` only, so the numbers do not depend on the blocks, the chunks or the
other seeds (they changed once, when block drawing was introduced for issue 6, section 4: the
reduced chain now turns random bits into normals/uniforms itself and uses one chi-square proposal per
variate; the full engine's samples are the same as before, its retraction rounds differently).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow._seeds import seed_keys
from mimflow.dynamics import Trajectory
from mimflow.training._algorithm import TrainingAlgorithm
from mimflow.training._scaling import resolve_learning_rate, resolve_size
from mimflow.training._segments import _full_init, _full_observe, _full_segment, _observe, _reduced_init, _reduced_segment

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
    base = seed_keys(seeds) if key is None else jax.vmap(lambda s: jax.random.fold_in(key, s))(
        jnp.asarray(seeds, dtype=jnp.uint32))
    keys = jax.vmap(jax.random.split)(base)
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
        seeds: a count ``S`` (seeds ``0..S-1``) or a list of seeds; seed ``s`` uses ``seed_key(s)`` (docs/conventions.md), or ``fold_in(key, s)`` when ``key`` is given.
        engine: ``"reduced"`` (exact Gram-matrix chain, cost independent of ``d``) or ``"full"``
            (``d``-dimensional samples).
        n_save: number of save steps (log or linear grid, always including 0 and ``N``).
        chunk: at most this many steps per compiled call (progress and divergence checks in between).
        progress: ``progress(fraction)`` called between chunks.
        key: a root PRNG key replacing the seed convention's (default: ``seed_key``).
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
