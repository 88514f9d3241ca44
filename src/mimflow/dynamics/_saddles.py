r"""Plateaus and escape times measured on a trajectory.

The escape time of the ``j``-th direction is the first time the ``j``-th largest singular
value of :math:`M(t)` crosses ``threshold`` (default 1/2), found on the saved log-spaced grid and
refined by linear interpolation in :math:`\log t`. A saddle that picks up ``n`` directions
(:func:`mimflow.theory.saddle_sequence`) is escaped when the last of its ``n`` singular
values crosses. Exact single-index times (MATH.md 1.6) are reproduced to the interpolation error
(~1e-3 relative with 200 save points over 15 decades; more save points make it smaller).
"""

from __future__ import annotations

import numpy as np

from ._trajectory import Trajectory

DEFAULT_THRESHOLD = 0.5


def crossing_times(t: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """First upward crossing of ``threshold`` along the last-but-one axis.

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


def direction_escape_times(traj: Trajectory, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """``(S, min(r, p))``: escape time of each direction (singular value) per seed; NaN if never."""
    sv = np.moveaxis(traj.singular_values, 1, -1)  # (S, k, T)
    return crossing_times(traj.t, sv, threshold)


def saddle_escape_times(traj: Trajectory, directions_per_saddle, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """``(S, n_saddles)``: escape time of each saddle = crossing of its last singular value.

    ``directions_per_saddle`` lists how many directions each saddle picks up (from the theory).
    Saddles beyond the student's rank are NaN.
    """
    per_direction = direction_escape_times(traj, threshold)
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
