"""Full-batch gradient descent on a fixed sample of ``n`` points per seed (d-dimensional samples only).

Same :class:`~mimflow.dynamics.Trajectory` and time mapping ``t = step * lr`` as
:func:`~mimflow.training.train_online` (:mod:`mimflow.training._online`).
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
from mimflow.training._algorithm import TrainingAlgorithm
from mimflow.training._common import _constants, _labels
from mimflow.training._full import full_batch_step
from mimflow.training._online import _check_common, _Recorder, _seed_keys, save_steps
from mimflow.training._scaling import resolve_learning_rate, resolve_size
from mimflow.training._segments import _full_init, _full_observe

@partial(jax.jit, static_argnames=("algo", "n", "d"))
def _draw_sample(algo, n, d, key):
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
