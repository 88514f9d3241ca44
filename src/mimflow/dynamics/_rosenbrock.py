r"""A batched, adaptive, L-stable Rosenbrock solver for small stiff ODEs (one step size per seed).

Why not a diffrax solver here: the overlap ODEs are tiny (``r p <= 16`` unknowns) but stiff
after each escape (a converged direction relaxes at rate O(1) while the next plateau lasts
``d^{s-1}``), and runs are vmapped over many seeds. Explicit solvers need ~1e4 steps per
plateau; diffrax's implicit Kvaerno5 is accurate (used as a cross-check in the tests) but costs
~0.2 s per run and its Newton iterations under ``vmap`` are slow. A Rosenbrock (linearly
implicit) method needs one Jacobian and one small linear system per step and no Newton
iteration, which suits this regime exactly.

Method: ``ode23s`` of Shampine & Reichelt, "The MATLAB ODE Suite", SIAM J. Sci. Comput. 18
(1997), section 3.1: a 2nd-order L-stable Rosenbrock W-method with a 3rd-order error estimate,
:math:`\gamma = 1/(2+\sqrt2)`, :math:`e_{32} = 6+\sqrt2`, for autonomous :math:`y' = F(y)`:

.. math::

    W &= I - h\gamma J,\quad k_1 = W^{-1}F(y),\quad
    k_2 = W^{-1}\big(F(y + \tfrac{h}{2}k_1) - k_1\big) + k_1,\quad y_{new} = y + h k_2,\\
    k_3 &= W^{-1}\big(F(y_{new}) - e_{32}(k_2 - F_1) - 2(k_1 - F_0)\big),\quad
    \mathrm{err} = \tfrac{h}{6}(k_1 - 2k_2 + k_3).

Every seed keeps its own time, step size and save pointer; the Jacobian is shared across
:data:`JACOBIAN_EVERY` iterations (the loop counter is a scalar, so the skip is real, not masked). :func:`rosenbrock_solve_batch` runs the seeds in
one ``while_loop`` that is *not* vmapped: the per-seed step is vmapped inside it over at most
:data:`LANES` seeds at a time (a work queue: a lane whose seed has finished takes the next one), and
each step's crossed save times are written into the output in place (steps are clamped so that they
cross at most :data:`WINDOW` save times; ode23s' dense output gives the states there). (Vmapping a per-seed
``scan`` over save times with an inner ``while_loop`` instead was measured 15-20x slower at 1000
seeds on CPU: the nested batched control flow scales worse than linearly in the batch.)

Stopping: a seed stops when its loss falls below ``stop_loss`` (the minimum is known to be 0),
when its state stops being finite (reported as a failure, never saved as a result), or when a
step budget runs out. After stopping its state is held constant.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from mimflow import _jax  # noqa: F401

GAMMA = 1.0 / (2.0 + math.sqrt(2.0))
E32 = 6.0 + math.sqrt(2.0)

STATUS_RUNNING, STATUS_STOPPED, STATUS_NONFINITE, STATUS_MAX_STEPS = 0, 1, 2, 3


class SolverState(NamedTuple):
    t: jax.Array
    y: jax.Array
    h: jax.Array
    F: jax.Array
    steps: jax.Array
    status: jax.Array


def _inverse(A: jax.Array) -> jax.Array:
    """Gauss-Jordan inverse with partial pivoting, unrolled (n <= 16): vectorises cleanly under vmap."""
    n = A.shape[0]
    aug = jnp.concatenate([A, jnp.eye(n, dtype=A.dtype)], axis=1)
    rows = jnp.arange(n)
    for c in range(n):
        col = jnp.where(rows >= c, jnp.abs(aug[:, c]), -1.0)
        p = jnp.argmax(col)
        row_p, row_c = aug[p], aug[c]
        aug = aug.at[c].set(row_p).at[p].set(row_c)
        pivot_row = aug[c] / aug[c, c]
        aug = aug - aug[:, c][:, None] * pivot_row[None, :]
        aug = aug.at[c].set(pivot_row)
    return aug[:, n:]


WINDOW = 8
"""Most save times one step may cross (steps are clamped so that they cross at most this many)."""

JACOBIAN_EVERY = 4
"""The batch Jacobian is recomputed every this many loop iterations and reused in between (the
matrix ``W = I - h gamma J`` is still rebuilt every step with each seed's own ``h``). A stale ``J``
only changes the local error, which the embedded estimate controls: measured on the three-saddle
benchmark, 1000 seeds took 9.6 s with a fresh J every step and 5.2 s with this value, and
single-index escape times stayed within 2e-6 relative of the fresh-J values (1e-5..2e-4 from
the exact integral either way)."""


def _step(vector_field, J, loss, st: SolverState, ptr, save_times, scale, *, rtol, atol, stop_loss,
          max_steps, eye):
    """One attempted step of one seed (time scaled by ``scale``: y' = scale F(y)).

    The step is clamped so that it crosses at most ``WINDOW`` save times; the dense output of
    ode23s gives the state at the crossed ones. Returns the new state, the window of save
    values ``(WINDOW, n)``, the mask of which were crossed, and the new save pointer.
    """
    T = save_times.shape[0]
    padded = jnp.concatenate([save_times, jnp.full((WINDOW,), jnp.inf, save_times.dtype)])
    window = jax.lax.dynamic_slice(padded, (ptr,), (WINDOW,))
    limit = window[WINDOW - 1] - st.t
    h = jnp.minimum(st.h, limit)
    clamped = st.h >= limit
    Winv = _inverse(eye - (h * GAMMA * scale) * J)
    F0 = st.F
    k1 = Winv @ F0
    F1 = scale * vector_field(st.y + 0.5 * h * k1)
    k2 = Winv @ (F1 - k1) + k1
    y_new = st.y + h * k2
    F2 = scale * vector_field(y_new)
    k3 = Winv @ (F2 - E32 * (k2 - F1) - 2.0 * (k1 - F0))
    err = (h / 6.0) * (k1 - 2.0 * k2 + k3)
    tol = atol + rtol * jnp.maximum(jnp.abs(st.y), jnp.abs(y_new))
    err_norm = jnp.sqrt(jnp.mean((err / tol) ** 2))
    finite = jnp.all(jnp.isfinite(y_new)) & jnp.isfinite(err_norm)
    accept = (err_norm <= 1.0) & finite
    factor = jnp.clip(0.9 * jnp.where(err_norm > 0, err_norm, 1e-10) ** (-1.0 / 3.0), 0.2, 5.0)
    factor = jnp.where(finite, factor, 0.2)
    h_next = jnp.where(accept & clamped, jnp.maximum(st.h, factor * h), factor * h)
    t_new = jnp.where(clamped, window[WINDOW - 1], st.t + h)
    # dense output (Shampine & Reichelt 1997, eq. for ode23s) at the crossed save times
    theta = jnp.clip((window - st.t) / jnp.where(h > 0, h, 1.0), 0.0, 1.0)[:, None]
    dense = st.y[None, :] + h * (theta * (1.0 - theta) / (1.0 - 2.0 * GAMMA) * k1[None, :]
                                 + theta * (theta - 2.0 * GAMMA) / (1.0 - 2.0 * GAMMA) * k2[None, :])
    crossed = accept & (window <= t_new) & (jnp.arange(WINDOW) + ptr < T)
    t = jnp.where(accept, t_new, st.t)
    y = jnp.where(accept, y_new, st.y)
    F = jnp.where(accept, F2, F0)
    steps = st.steps + 1
    status = st.status
    status = jnp.where(accept & (loss(y_new) < stop_loss), STATUS_STOPPED, status)
    status = jnp.where(~finite & (h < 1e-300 + 1e-14 * jnp.abs(st.t)), STATUS_NONFINITE, status)
    status = jnp.where((status == STATUS_RUNNING) & (steps >= max_steps), STATUS_MAX_STEPS, status)
    new_ptr = ptr + jnp.sum(crossed).astype(ptr.dtype)
    return SolverState(t, y, h_next, F, steps, status.astype(jnp.int32)), dense, crossed, new_ptr


def fd_jacobian(vector_field: Callable[[jax.Array], jax.Array], y: jax.Array) -> jax.Array:
    r"""Forward-difference Jacobian :math:`J_{ij} \approx (F_i(y + \delta_j e_j) - F_i(y))/\delta_j` of one state.

    ``delta_j = FD_STEP * max(1, |y_j|)`` (rounded so that ``y_j + delta_j`` is exact). ``n + 1``
    evaluations of ``F`` in one vmapped call: ~3x cheaper than ``jax.jacfwd`` of the overlap flows,
    whose ``F`` is itself a gradient (forward-over-reverse through products), measured in
    BENCHMARKS.md. The W-method only needs an approximation of ``J`` (its error estimate controls the
    rest, as it does for a Jacobian reused over :data:`JACOBIAN_EVERY` iterations).
    """
    n = y.shape[0]
    delta = FD_STEP * jnp.maximum(1.0, jnp.abs(y))
    delta = (y + delta) - y
    points = jnp.concatenate([y[None, :], y[None, :] + jnp.diag(delta)], axis=0)
    values = jax.vmap(vector_field)(points)
    return ((values[1:] - values[0][None, :]) / delta[:, None]).T


FD_STEP = 1e-7
"""Relative forward-difference step of :func:`fd_jacobian` (about the square root of float64's epsilon)."""

LANES = 64
"""Default number of lanes of :func:`rosenbrock_solve_batch` (seeds integrated at once); see there."""


def rosenbrock_solve_batch(
    vector_field: Callable[[jax.Array], jax.Array],
    loss: Callable[[jax.Array], jax.Array],
    y0: jax.Array,
    save_times: jax.Array,
    *,
    time_scale: jax.Array | None = None,
    rtol=1e-6,
    atol=1e-12,
    stop_loss=-1.0,
    h0: float = 1e-3,
    max_steps: int = 200_000,
    lanes: int | None = LANES,
    jacobian: str = "ad",
) -> tuple[jax.Array, SolverState]:
    """Integrate ``y' = F(y)`` for a batch of initial states; each seed has its own step size.

    **Lanes (a work queue instead of lockstep).** At most ``lanes`` seeds are integrated at once;
    when a seed finishes (converged, failed, out of steps or past the last save time) its lane takes
    the next seed of the queue. The batch used to run in lockstep until its slowest seed finished
    (all ``B`` seeds stepped ``max(steps)`` times, 1.8x the mean on the three-saddle benchmark, whose
    escape times are heavy-tailed); now the work is ``sum(steps)`` plus one tail of at most
    ``lanes`` seeds. Lanes take new seeds only at iterations that are multiples of
    :data:`JACOBIAN_EVERY`, where every lane's Jacobian is refreshed, so each seed sees exactly the
    same sequence of operations whatever the batch, the lanes or its place in the queue: its result
    is the same as when it is solved alone.

    Args:
        vector_field: ``F: (n,) -> (n,)`` for one seed, JAX-traceable.
        loss: ``(n,) -> scalar`` for the stopping rule.
        y0: ``(B, n)``.
        save_times: ``(T,)`` increasing, positive, shared by the batch.
        time_scale: optional ``(B,)``: seed ``b`` integrates ``y' = time_scale[b] F(y)`` (so one common
            grid of save times stands for a different time grid per seed; the flow is autonomous).
        rtol, atol: local error tolerances (RMS norm, ``atol + rtol * max(|y|, |y_new|)``).
        stop_loss: a seed stops once ``loss(y) < stop_loss`` (negative disables).
        max_steps: step budget per seed.
        lanes: seeds integrated at once (``None``: all ``B``, the old lockstep).
        jacobian: ``"ad"`` (``jax.jacfwd``, default) or ``"fd"`` (:func:`fd_jacobian`: ~1.1x faster on the
            three-saddle benchmark, but it amplifies rounding by ``1/FD_STEP``, so the same seed in batches of
            different sizes, which XLA vectorises differently, then agrees to ~1e-12 instead of ~1e-16).

    Returns:
        ``(ys (B, T, n), final SolverState with fields of shape (B, ...))``; ``status`` is 1 (stopped by
        the loss rule), 2 (non-finite state), 3 (step budget exhausted) or 0 (reached the last save
        time). After a seed stops, its remaining save slots hold its final state.
    """
    B, n = y0.shape
    T = save_times.shape[0]
    L = B if lanes is None else max(1, min(int(lanes), B))
    eye = jnp.eye(n, dtype=y0.dtype)
    if jacobian == "fd":
        batch_jacobian = jax.vmap(lambda y: fd_jacobian(vector_field, y))
    elif jacobian == "ad":
        batch_jacobian = jax.vmap(jax.jacfwd(vector_field))
    else:
        raise ValueError(f"jacobian must be 'fd' or 'ad', got {jacobian!r}")
    scale_all = jnp.ones((B,), y0.dtype) if time_scale is None else jnp.asarray(time_scale, y0.dtype)
    step = jax.vmap(
        lambda st, J, ptr, sc: _step(vector_field, J, loss, st, ptr, save_times, sc,
                                     rtol=rtol, atol=atol, stop_loss=stop_loss, max_steps=max_steps, eye=eye),
    )
    F0_all = jax.vmap(vector_field)(y0) * scale_all[:, None]
    status0_all = jnp.where(jnp.all(jnp.isfinite(F0_all), axis=1), STATUS_RUNNING, STATUS_NONFINITE).astype(jnp.int32)

    def initial(ids):
        """Lane states for seeds ``ids`` (clipped: lanes without a seed are masked by ``valid``)."""
        ids = jnp.clip(ids, 0, B - 1)
        return SolverState(jnp.zeros((ids.shape[0],), y0.dtype), y0[ids], jnp.full((ids.shape[0],), h0, y0.dtype),
                           F0_all[ids], jnp.zeros((ids.shape[0],), jnp.int32), status0_all[ids])

    seed = jnp.arange(L, dtype=jnp.int32)
    out = SolverState(jnp.zeros((B,), y0.dtype), y0, jnp.full((B,), h0, y0.dtype), F0_all,
                      jnp.zeros((B,), jnp.int32), status0_all)
    saved = jnp.zeros((B, T + WINDOW, n), y0.dtype)
    offsets = jnp.arange(WINDOW)[None, :]

    def cond(carry):
        return jnp.any(carry["valid"]) | (carry["next"] < B)

    def refill(c):
        free = ~c["valid"]
        new_id = c["next"] + jnp.cumsum(free.astype(jnp.int32)) - 1
        take = free & (new_id < B)
        fresh = initial(new_id)
        c = dict(c)
        c["st"] = jax.tree_util.tree_map(lambda a, b: jnp.where(take.reshape((L,) + (1,) * (a.ndim - 1)), a, b),
                                         fresh, c["st"])
        c["seed"] = jnp.where(take, new_id, c["seed"]).astype(jnp.int32)
        c["ptr"] = jnp.where(take, 0, c["ptr"])
        c["valid"] = c["valid"] | take
        c["next"] = c["next"] + jnp.sum(take).astype(jnp.int32)
        return c

    def body(c):
        new_epoch = c["it"] % JACOBIAN_EVERY == 0
        c = jax.lax.cond(new_epoch & jnp.any(~c["valid"]) & (c["next"] < B), refill, lambda c: c, c)
        st, ptr, valid, seed = c["st"], c["ptr"], c["valid"], c["seed"]
        J = jax.lax.cond(new_epoch, lambda: batch_jacobian(st.y), lambda: c["J"])
        active = valid & (st.status == STATUS_RUNNING) & (ptr < T)
        new, dense, crossed, new_ptr = step(st, J, ptr, scale_all[seed])
        st = jax.tree_util.tree_map(
            lambda a, b: jnp.where(active.reshape((L,) + (1,) * (a.ndim - 1)), a, b), new, st)
        write = crossed & active[:, None]
        rows = jnp.where(write, seed[:, None], B)  # out of range: dropped
        saved = jax.lax.cond(
            jnp.any(write),
            lambda s: s.at[rows, ptr[:, None] + offsets].set(dense, mode="drop"),
            lambda s: s, c["saved"])
        ptr = jnp.where(active, new_ptr, ptr)
        done = valid & ~((st.status == STATUS_RUNNING) & (ptr < T))
        target = jnp.where(done, seed, B)

        def record(o):
            o = jax.tree_util.tree_map(lambda a, b: a.at[target].set(b, mode="drop"), o[0], st), \
                o[1].at[target].set(ptr, mode="drop")
            return o

        out, out_ptr = jax.lax.cond(jnp.any(done), record, lambda o: o, (c["out"], c["out_ptr"]))
        return {"st": st, "ptr": ptr, "valid": valid & ~done, "seed": seed, "J": J, "saved": saved,
                "out": out, "out_ptr": out_ptr, "next": c["next"], "it": c["it"] + 1}

    carry = {"st": initial(seed), "ptr": jnp.zeros((L,), jnp.int32), "valid": jnp.ones((L,), bool),
             "seed": seed, "J": jnp.zeros((L, n, n), y0.dtype), "saved": saved, "out": out,
             "out_ptr": jnp.zeros((B,), jnp.int32), "next": jnp.asarray(L, jnp.int32),
             "it": jnp.zeros((), jnp.int32)}
    carry = jax.lax.while_loop(cond, body, carry)
    state, ptr = carry["out"], carry["out_ptr"]
    saved = carry["saved"][:, :T]
    unfilled = jnp.arange(T)[None, :] >= ptr[:, None]
    saved = jnp.where(unfilled[..., None], state.y[:, None, :], saved)
    return saved, state
