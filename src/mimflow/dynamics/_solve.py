r"""Solve an overlap flow for a batch of initial conditions and return a :class:`Trajectory`.

Save times are ``t = 0`` followed by ``n_save - 1`` log-spaced times in ``[t_min, t_max]``, so
plateaus that last from ``O(1)`` to ``d^{s-1}`` are all resolved. Runs stop early once converged
(see :func:`stop_loss_for`): after that their overlaps are held constant, which is exact to the
solver tolerance because the flow has reached its minimum.
"""

from __future__ import annotations

import time
from functools import partial

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow.dynamics._flows import OverlapFlow, spectrum_rank
from mimflow.dynamics._rosenbrock import STATUS_MAX_STEPS, STATUS_NONFINITE, STATUS_STOPPED, rosenbrock_solve_batch
from mimflow.dynamics._trajectory import Trajectory

SOLVERS = ("rosenbrock", "kvaerno5")


def relevant_rank(flow: OverlapFlow, rtol: float = 1e-8) -> int:
    """Dimension of the subspace the link depends on: rank of ``sum_k unfold(S_k) unfold(S_k)^T``."""
    if flow.spectrum is None:
        raise MimflowError(f"the {flow.algorithm} flow was built from coefficients, not from a link's spectrum")
    return spectrum_rank(flow.spectrum, rtol)


def stop_loss_for(flow: OverlapFlow, rel_tol: float = 1e-10) -> float:
    """Loss below which a run has converged, or ``-1`` when the minimum is not known to be 0.

    The minimum is 0 for the planted flow and for the two-timescale flow whose student rank is
    at least the dimension the link depends on (global convergence, docs/math/grassmannian-flow.md §1.5):
    ``flow.zero_minimum``, set by its builder.
    """
    if flow.zero_minimum:
        return rel_tol * float(np.sum(flow.spectrum.values[1:] ** 2))
    return -1.0


def save_times(t_max: float, n_save: int = 200, t_min: float = 1e-2) -> np.ndarray:
    """``[0, logspace(t_min, t_max, n_save - 1)]``."""
    check_finite("t_max", t_max)
    if t_max <= 0:
        raise MimflowError(f"t-max must be positive, got {t_max}")
    if n_save < 3:
        raise MimflowError(f"n_save must be >= 3, got {n_save}")
    t_min = min(t_min, t_max / 10.0)
    return np.concatenate([[0.0], np.logspace(np.log10(t_min), np.log10(t_max), n_save - 1)])


@partial(jax.jit, static_argnames=("flow", "max_steps"))
def _solve_batch(flow, y0, ts, rtol, atol, stop_loss, max_steps):
    ys, state = rosenbrock_solve_batch(flow.flat_vector_field, flow.flat_loss, y0, ts, rtol=rtol, atol=atol,
                                       stop_loss=stop_loss, max_steps=max_steps)
    losses = jax.vmap(jax.vmap(flow.flat_loss))(ys)
    return ys, losses, state


def solve_flow(
    flow: OverlapFlow,
    M0,
    *,
    t_max: float,
    d: int,
    seeds=None,
    link: str = "",
    n_save: int = 200,
    t_min: float = 1e-2,
    rtol: float = 1e-7,
    atol: float = 1e-13,
    solver: str = "rosenbrock",
    max_steps: int = 200_000,
    times=None,
) -> Trajectory:
    """Integrate ``flow`` from each initial overlap in ``M0`` (shape ``(S, r, p)``) up to ``t_max``.

    Args:
        flow: any :class:`OverlapFlow` (:func:`make_flow`; two-timescale, planted, correlation).
        M0: ``(S, r, p)`` (or ``(r, p)`` for one run) initial overlaps, e.g. from
            :func:`haar_overlaps_batch`.
        t_max: final time (units of docs/math/grassmannian-flow.md §1.4).
        d: the dimension the initial conditions were drawn for (recorded).
        seeds: labels of the runs (default ``0..S-1``).
        solver: ``"rosenbrock"`` (batched, default) or ``"kvaerno5"`` (diffrax, one run at a time;
            a cross-check).
        times: optional ``(T,)`` save times with ``times[0] = 0``, strictly increasing (e.g. the
            times of a finite-sample run, so that comparing is a subtraction); replaces
            ``t_max``/``n_save``/``t_min``.

    Raises:
        MimflowError: if any run produces non-finite overlaps (never returned as a result).
    """
    M0 = np.asarray(M0, dtype=np.float64)
    if M0.ndim == 2:
        M0 = M0[None]
    if M0.ndim != 3 or M0.shape[1:] != (flow.r, flow.p):
        raise MimflowError(f"initial overlaps must have shape (seeds, {flow.r}, {flow.p}), got {M0.shape}")
    if not np.all(np.isfinite(M0)):
        raise MimflowError("initial overlaps contain NaN/inf")
    S = M0.shape[0]
    seeds = np.arange(S) if seeds is None else np.asarray(seeds).reshape(-1)
    if times is None:
        ts = save_times(t_max, n_save, t_min)
    else:
        ts = np.asarray(times, dtype=np.float64).reshape(-1)
        if ts.size < 2 or ts[0] != 0.0 or not np.all(np.diff(ts) > 0) or not np.all(np.isfinite(ts)):
            raise MimflowError("times must start at 0, be finite and strictly increasing, with at least 2 entries")
    stop = stop_loss_for(flow)
    start = time.perf_counter()
    y0 = jnp.asarray(M0.reshape(S, -1))
    if solver == "rosenbrock":
        # minimum unknown: never stop on the loss (-inf, since a loss may be negative, e.g. correlation)
        solver_stop = stop if stop > 0 else -np.inf
        ys, losses, state = _solve_batch(flow, y0, jnp.asarray(ts[1:]), jnp.float64(rtol), jnp.float64(atol),
                                         jnp.float64(solver_stop), int(max_steps))
        ys, losses = np.asarray(ys), np.asarray(losses)
        status, t_stop, n_steps = np.asarray(state.status), np.asarray(state.t), np.asarray(state.steps)
    elif solver == "kvaerno5":
        ys, losses, status, t_stop, n_steps = _solve_diffrax(flow, y0, ts[1:], rtol, atol, stop, max_steps)
    else:
        raise MimflowError(f"unknown solver {solver!r}; known: {', '.join(SOLVERS)}")
    seconds = time.perf_counter() - start
    if np.any(status == STATUS_NONFINITE) or not np.all(np.isfinite(ys)):
        bad = seeds[(status == STATUS_NONFINITE) | ~np.all(np.isfinite(ys), axis=(1, 2))]
        raise MimflowError(f"the flow diverged (non-finite overlaps) for seeds {bad.tolist()[:5]}: "
                           "check the link's coefficients and the truncation degree")
    loss0 = np.asarray(jax.vmap(flow.flat_loss)(y0))
    M = np.concatenate([M0[:, None], ys.reshape(S, -1, flow.r, flow.p)], axis=1)
    loss = np.concatenate([loss0[:, None], losses], axis=1)
    converged = status == STATUS_STOPPED
    if stop < 0:  # minimum unknown: converged means steady at the end
        speed = np.asarray(jax.vmap(flow.flat_vector_field)(jnp.asarray(ys[:, -1])))
        converged = ts[-1] * np.linalg.norm(speed, axis=1) < 1e-6 * np.maximum(np.linalg.norm(ys[:, -1], axis=1), 1e-12)
    return Trajectory(
        t=ts, M=M, loss=loss, d=int(d), seeds=seeds, algorithm=flow.algorithm, link=link,
        converged=converged, t_stop=t_stop, n_steps=n_steps,
        info={"solver": solver, "rtol": rtol, "atol": atol, "degree": flow.degree,
              "truncation_tail": flow.truncation_tail, "student_rank": flow.p, "ridge": flow.ridge,
              "wall_seconds": seconds, "max_steps_hit": int(np.sum(status == STATUS_MAX_STEPS))},
    )


@partial(jax.jit, static_argnames=("flow", "rtol", "atol", "stop", "max_steps"))
def _kvaerno5_one(flow, y, ts, rtol, atol, stop, max_steps):
    term = diffrax.ODETerm(lambda t, state, args: flow.flat_vector_field(state))
    event = diffrax.Event(lambda t, state, args, **kw: flow.flat_loss(state) < stop) if stop > 0 else None
    sol = diffrax.diffeqsolve(
        term, diffrax.Kvaerno5(), t0=0.0, t1=ts[-1], dt0=1e-3, y0=y,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol, pcoeff=0.3, icoeff=0.3),
        saveat=diffrax.SaveAt(ts=ts), event=event, max_steps=max_steps, throw=False,
    )
    return sol.ys, sol.stats["num_steps"], sol.result == diffrax.RESULTS.event_occurred


def _solve_diffrax(flow, y0, ts, rtol, atol, stop, max_steps):
    """diffrax Kvaerno5 (implicit, stiff-aware) with a PID controller and a convergence event (one run at a time)."""
    ys_all, status, t_stop, n_steps = [], [], [], []
    for y in y0:
        ys, steps, stopped = _kvaerno5_one(flow, y, jnp.asarray(ts), float(rtol), float(atol), float(stop),
                                           int(max_steps))
        ys = np.array(ys)  # writable copy
        # after an event diffrax fills later save slots with inf: hold the last finite state
        finite_rows = np.all(np.isfinite(ys), axis=1)
        last = int(np.nonzero(finite_rows)[0][-1]) if finite_rows.any() else 0
        if bool(stopped):
            ys[last + 1:] = ys[last]
        ys_all.append(ys)
        status.append(STATUS_STOPPED if bool(stopped) else 0)
        t_stop.append(ts[last])
        n_steps.append(int(steps))
    ys = np.stack(ys_all)
    losses = np.asarray(jax.vmap(jax.vmap(flow.flat_loss))(jnp.asarray(ys)))
    return ys, losses, np.array(status), np.array(t_stop), np.array(n_steps)
