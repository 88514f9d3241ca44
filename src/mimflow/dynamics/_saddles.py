r"""Plateaus and escape times measured on a trajectory.

The escape time of the ``j``-th direction is the first time the ``j``-th largest singular
value of :math:`M(t)` crosses ``threshold`` (default 1/2). On the saved log-spaced grid alone the
crossing is only known to within one save interval (the escape is sharper than the grid: with
200 points over 15 decades, 1-5 % errors), so :func:`direction_escape_times` refines it when given
the flow: every (seed, direction) bracket ``[t_{i-1}, t_i]`` is re-integrated from the saved
state ``M(t_{i-1})`` on ``refine`` equally spaced points (the flow is autonomous, so all brackets go
through one vmapped solve) and the crossing is interpolated linearly on that grid. The
remaining error is the solver tolerance plus ``O((Δt/refine)^2)``. A saddle that picks up ``n``
directions (:func:`mimflow.theory.saddle_sequence`) is escaped when the last of its ``n``
singular values crosses.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from mimflow.dynamics._rosenbrock import rosenbrock_solve_batch
from mimflow.dynamics._trajectory import Trajectory

DEFAULT_THRESHOLD = 0.5


def crossing_times(t: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """First upward crossing of ``threshold`` along the last axis.

    Args:
        t: ``(T,)`` increasing times (``t[0]`` may be 0).
        values: ``(..., T)``.

    Returns:
        ``(...)`` crossing times, interpolated linearly in ``log t`` (linearly in ``t`` on the first
        interval if it starts at 0); NaN where the threshold is never reached; ``t[0]`` if already above.
    """
    values = np.asarray(values, dtype=float)
    above = values >= threshold
    first = np.argmax(above, axis=-1)
    never = ~above.any(axis=-1)
    out = np.full(values.shape[:-1], np.nan)
    it = np.nditer(first, flags=["multi_index"])
    for idx in it:
        i = int(idx)
        mi = it.multi_index
        if never[mi]:
            continue
        if i == 0:
            out[mi] = t[0]
            continue
        v0, v1 = values[mi + (i - 1,)], values[mi + (i,)]
        w = (threshold - v0) / (v1 - v0) if v1 != v0 else 1.0
        t0, t1 = t[i - 1], t[i]
        if t0 > 0:
            out[mi] = float(np.exp(np.log(t0) + w * (np.log(t1) - np.log(t0))))
        else:
            out[mi] = float(t0 + w * (t1 - t0))
    return out


def direction_escape_times(traj: Trajectory, threshold: float = DEFAULT_THRESHOLD, *, flow=None,
                           refine: int = 400) -> np.ndarray:
    """``(S, min(r, p))``: escape time of each direction (singular value) per seed; NaN if never.

    With ``flow`` (the flow that produced ``traj``) each crossing is refined by re-integrating its
    save interval on ``refine`` points; without it, interpolation on the save grid only.
    """
    sv = np.moveaxis(traj.singular_values, 1, -1)  # (S, k, T)
    coarse = crossing_times(traj.t, sv, threshold)
    if flow is None:
        return coarse
    return _refine(flow, traj, sv, coarse, threshold, refine)


def _refine(flow, traj: Trajectory, sv: np.ndarray, coarse: np.ndarray, threshold: float, refine: int) -> np.ndarray:
    above = sv >= threshold
    first = np.argmax(above, axis=-1)  # (S, k)
    todo = np.argwhere(np.isfinite(coarse) & (first > 0))
    if len(todo) == 0:
        return coarse
    starts = first[todo[:, 0], todo[:, 1]] - 1
    t0 = traj.t[starts]
    dt = traj.t[starts + 1] - t0
    y0 = traj.M[todo[:, 0], starts].reshape(len(todo), -1)
    u = np.arange(1, refine + 1) / refine
    grids = dt[:, None] * u[None, :]
    ys = np.asarray(_refine_jit(flow, jnp.asarray(y0), jnp.asarray(dt), jnp.asarray(u),
                                jnp.float64(traj.info.get("rtol", 1e-7)), jnp.float64(traj.info.get("atol", 1e-13))))
    out = coarse.copy()
    for row, (s_idx, k_idx) in enumerate(todo):
        M = ys[row].reshape(refine, flow.r, flow.p)
        values = np.concatenate([[sv[s_idx, k_idx, starts[row]]], np.linalg.svd(M, compute_uv=False)[:, k_idx]])
        times = np.concatenate([[0.0], grids[row]])
        refined = crossing_times(times, values[None, :], threshold)[0]
        out[s_idx, k_idx] = t0[row] + refined if np.isfinite(refined) else coarse[s_idx, k_idx]
    return out


@partial(jax.jit, static_argnames=("flow",))
def _refine_jit(flow, y0, durations, u, rtol, atol):
    # the flow is autonomous: integrate y' = Δt_b F(y) on the common grid u in (0, 1]
    # stop_loss = -inf: no stop on the loss (it may be negative, e.g. the correlation flow)
    ys, _ = rosenbrock_solve_batch(flow.flat_vector_field, flow.flat_loss, y0, u, time_scale=durations,
                                   rtol=rtol, atol=atol, stop_loss=-jnp.inf)
    return ys


def saddle_escape_times(traj: Trajectory, directions_per_saddle, threshold: float = DEFAULT_THRESHOLD, *,
                        flow=None) -> np.ndarray:
    """``(S, n_saddles)``: escape time of each saddle = crossing of its last singular value.

    ``directions_per_saddle`` lists how many directions each saddle picks up (from the theory).
    Saddles beyond the student's rank are NaN. ``flow`` refines the crossings (see
    :func:`direction_escape_times`).
    """
    per_direction = direction_escape_times(traj, threshold, flow=flow)
    ends = np.cumsum(np.asarray(directions_per_saddle, dtype=int)) - 1
    out = np.full((per_direction.shape[0], len(ends)), np.nan)
    for j, e in enumerate(ends):
        if e < per_direction.shape[1]:
            out[:, j] = per_direction[:, e]
    return out


def plateaus(traj: Trajectory, seed_index: int = 0, threshold: float = DEFAULT_THRESHOLD) -> list[dict]:
    """Plateaus of one run: the intervals between successive direction escapes with their loss level.

    Returns a list of ``{"t_start", "t_end", "loss", "learned_directions"}``; the last plateau is
    the final state (``t_end`` = last save time).
    """
    esc = np.sort(direction_escape_times(traj, threshold)[seed_index])
    esc = esc[np.isfinite(esc)]
    edges = np.concatenate([[traj.t[0]], esc, [traj.t[-1]]])
    out = []
    for j in range(len(edges) - 1):
        a, b = edges[j], edges[j + 1]
        mid = np.sqrt(a * b) if a > 0 else b / 2
        i = int(np.clip(np.searchsorted(traj.t, mid), 0, len(traj.t) - 1))
        out.append({"t_start": float(a), "t_end": float(b), "loss": float(traj.loss[seed_index, i]),
                    "learned_directions": j})
    return out
