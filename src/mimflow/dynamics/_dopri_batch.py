r"""A batched explicit Dormand-Prince 5(4) solver with one step size per instance and escape events.

Built for the per-neuron overlap ODE of docs/math/neurons.md §2.2 (:mod:`mimflow.dynamics._neurons`), where a
batch holds ``neurons x seeds`` tiny independent ODEs (``k <= ~20`` unknowns each, up to ~1e6 of
them) whose plateau lengths differ by orders of magnitude (a neuron's escape time is
:math:`\propto m_0^{-(p-2)}`). Why not :func:`~mimflow.dynamics._rosenbrock.rosenbrock_solve_batch`:
(i) the quantity of interest is the *escape time* of each instance (the first time an indicator
crosses a threshold), which this solver locates inside the step by cubic Hermite interpolation,
while the Rosenbrock solver only saves the state on a grid shared by the batch, which at 1e6
instances costs ``B x T x k`` memory; (ii) the neuron ODE is not stiff where it is integrated: on
the plateau the Jacobian is :math:`O(m^{p-2})` and the solver steps in effectively logarithmic time,
after the escape the relaxation rate is :math:`O(p\,c^2)` and the run stops at convergence, so an
explicit 5th-order method takes fewer, cheaper steps than a 2nd-order linearly implicit one
(no Jacobian, no ``k x k`` solve per step).

Method: Dormand & Prince, "A family of embedded Runge-Kutta formulae", J. Comput. Appl. Math. 6
(1980); the FSAL tableau of Hairer, Norsett & Wanner, *Solving ODEs I*, Table 5.2 (``DOPRI5``),
with the standard controller :math:`h \leftarrow h\,\mathrm{clip}(0.9\,\mathrm{err}^{-1/5}, 0.2, 5)`
on the RMS norm of ``err / (atol + rtol max(|y|, |y_new|))``.

All instances advance together inside one ``lax.while_loop`` on flat ``(B, n)`` arrays (vectorised,
not a ``vmap`` of per-instance loops: STACK.md measured nested batched control flow scaling badly);
each instance has its own time, step and status and is frozen once it stops. The loop is run in
chunks of ``chunk`` iterations so that the caller can report progress between chunks.

Stopping rules per instance (``status``): ``CONVERGED`` when it has escaped (indicator >= threshold)
*and* its speed ``max |F(y)|`` is below ``conv_tol`` (a plain steady-state test would fire at
``t = 0`` on the plateau, STACK.md); ``T_MAX`` at ``t_max``; ``NONFINITE`` (reported, never a result);
``MAX_STEPS``.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401

RUNNING, CONVERGED, T_MAX, NONFINITE, MAX_STEPS = 0, 1, 2, 3, 4
STATUS_NAMES = {RUNNING: "running", CONVERGED: "converged", T_MAX: "t_max", NONFINITE: "nonfinite",
                MAX_STEPS: "max_steps"}

_C = (0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0)
_A = (
    (),
    (1 / 5,),
    (3 / 40, 9 / 40),
    (44 / 45, -56 / 15, 32 / 9),
    (19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729),
    (9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656),
    (35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84),
)
_E = (71 / 57600, 0.0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40)
"""5th minus 4th order weights (the error estimate)."""


def row_sum(x: jax.Array) -> jax.Array:
    """``sum(x, axis=1, keepdims=True)`` for ``(B, n)``. (Unrolling the short row sums into column
    slices was measured 2.5x slower in the full solver step on CPU, though faster in isolation.)"""
    return jnp.sum(x, axis=1, keepdims=True)


def row_max(x: jax.Array) -> jax.Array:
    """``max(x, axis=1)`` for ``(B, n)``, shape ``(B,)``."""
    return jnp.max(x, axis=1)


class BatchState(NamedTuple):
    t: jax.Array  # (B,)
    y: jax.Array  # (B, n)
    F: jax.Array  # (B, n), F(y) (first-same-as-last)
    h: jax.Array  # (B,)
    steps: jax.Array  # (B,) int32
    status: jax.Array  # (B,) int32
    t_escape: jax.Array  # (B,) inf until the indicator first reaches the threshold
    ptr: jax.Array  # (B,) int32 index of the next save time
    saved: jax.Array  # (B, T, n)
    cross: tuple  # (y0, F0, y1, F1, t0, h) of the step on which the escape happened


def _hermite(y0, F0, y1, F1, h, theta):
    """Cubic Hermite interpolant on a step, at fractions ``theta`` (broadcast ``(B, 1)``)."""
    h00 = (1 + 2 * theta) * (1 - theta) ** 2
    h10 = theta * (1 - theta) ** 2
    h01 = theta**2 * (3 - 2 * theta)
    h11 = theta**2 * (theta - 1)
    return h00 * y0 + h10 * h * F0 + h01 * y1 + h11 * h * F1


def _step(field, indicator, st: BatchState, save_times, t_max, *, rtol, atol, conv_tol, threshold, max_steps):
    B = st.t.shape[0]
    T = save_times.shape[0]
    active = st.status == RUNNING
    if T > 0:
        next_save = jnp.where(st.ptr < T, save_times[jnp.minimum(st.ptr, T - 1)], jnp.inf)
    else:
        next_save = jnp.full((B,), jnp.inf)
    target = jnp.minimum(next_save, t_max)
    h = jnp.minimum(st.h, target - st.t)
    landing = st.h >= target - st.t
    hb = h[:, None]
    ks = [st.F]
    for i in range(1, 7):
        incr = sum(a * k for a, k in zip(_A[i], ks) if a != 0.0)
        ks.append(field(st.y + hb * incr))
    y_new = st.y + hb * sum(a * k for a, k in zip(_A[6], ks[:6]) if a != 0.0)
    F_new = ks[6]
    err = hb * sum(e * k for e, k in zip(_E, ks) if e != 0.0)
    scale = atol + rtol * jnp.maximum(jnp.abs(st.y), jnp.abs(y_new))
    err_norm = jnp.sqrt(row_sum((err / scale) ** 2)[:, 0] / err.shape[1])
    finite = jnp.isfinite(err_norm) & jnp.isfinite(row_sum(y_new)[:, 0])
    accept = finite & (err_norm <= 1.0) & active
    factor = jnp.clip(0.9 * jnp.where(err_norm > 0, err_norm, 1e-10) ** -0.2, 0.2, 5.0)
    factor = jnp.where(finite, factor, 0.2)
    h_next = jnp.where(accept & landing, jnp.maximum(st.h, factor * h), factor * h)
    t_new = jnp.where(landing, target, st.t + h)

    # escape event: remember the step on which the indicator first reaches the threshold; the
    # crossing time is located inside it once, at the end (locate_escape_times)
    ind1 = indicator(y_new)
    crossing = accept & jnp.isinf(st.t_escape) & (ind1 >= threshold)
    t_escape = jnp.where(crossing, t_new, st.t_escape)
    cross = tuple(jnp.where(crossing[:, None], new, old) for new, old in
                  zip((st.y, st.F, y_new, F_new), st.cross[:4])) + (
        jnp.where(crossing, st.t, st.cross[4]), jnp.where(crossing, h, st.cross[5]))
    t = jnp.where(accept, t_new, st.t)
    y = jnp.where(accept[:, None], y_new, st.y)
    F = jnp.where(accept[:, None], F_new, st.F)
    h_new = jnp.where(active, h_next, st.h)
    steps = st.steps + active.astype(jnp.int32)
    # saving: an accepted step that lands on the next save time writes it
    hit = accept & landing & (st.ptr < T) & (target == next_save)
    if T > 0:
        rows = jnp.arange(B)
        col = jnp.minimum(st.ptr, T - 1)
        current = st.saved[rows, col]
        saved = st.saved.at[rows, col].set(jnp.where(hit[:, None], y_new, current))
    else:
        saved = st.saved
    ptr = st.ptr + hit.astype(jnp.int32)

    speed = row_max(jnp.abs(F))
    escaped = jnp.isfinite(t_escape)
    status = st.status
    status = jnp.where(active & accept & escaped & (speed < conv_tol), CONVERGED, status)
    status = jnp.where(active & (status == RUNNING) & (t >= t_max), T_MAX, status)
    tiny = h < 1e-14 * jnp.maximum(jnp.abs(st.t), 1e-300) + 1e-300
    status = jnp.where(active & ~finite & tiny, NONFINITE, status)
    status = jnp.where(active & (status == RUNNING) & (steps >= max_steps), MAX_STEPS, status)
    return BatchState(t, y, F, h_new, steps, status.astype(jnp.int32), t_escape, ptr, saved, cross)


@partial(jax.jit, static_argnames=("make_field", "make_indicator", "chunk", "max_steps"))
def _run_chunk(make_field, make_indicator, params, st: BatchState, save_times, t_max, rtol, atol, conv_tol,
               threshold, *, chunk: int, max_steps: int):
    field = make_field(params)
    indicator = make_indicator(params)

    def cond(carry):
        s, i = carry
        return (i < chunk) & jnp.any(s.status == RUNNING)

    def body(carry):
        s, i = carry
        return _step(field, indicator, s, save_times, t_max, rtol=rtol, atol=atol, conv_tol=conv_tol,
                     threshold=threshold, max_steps=max_steps), i + 1

    st, _ = jax.lax.while_loop(cond, body, (st, jnp.zeros((), jnp.int32)))
    return st


@partial(jax.jit, static_argnames=("make_field", "make_indicator", "T"))
def _init_state(make_field, make_indicator, params, y0, h0, threshold, T: int):
    field = make_field(params)
    indicator = make_indicator(params)
    B, n = y0.shape
    F0 = field(y0)
    finite = jnp.all(jnp.isfinite(F0), axis=1) & jnp.all(jnp.isfinite(y0), axis=1)
    t_esc = jnp.where(indicator(y0) >= threshold, 0.0, jnp.inf)
    return BatchState(jnp.zeros((B,)), y0, F0, jnp.full((B,), h0), jnp.zeros((B,), jnp.int32),
                      jnp.where(finite, RUNNING, NONFINITE).astype(jnp.int32), t_esc,
                      jnp.zeros((B,), jnp.int32), jnp.zeros((B, T, n)),
                      (y0, F0, y0, F0, jnp.zeros((B,)), jnp.zeros((B,))))


@partial(jax.jit, static_argnames=("make_indicator",))
def _locate_escape_times(make_indicator, params, t_escape, cross, threshold):
    """Bisection (40 halvings) for the crossing on the cubic Hermite interpolant of the crossing step."""
    indicator = make_indicator(params)
    y0, F0, y1, F1, t0, h = cross
    B = t0.shape[0]
    lo, hi = jnp.zeros((B,)), jnp.ones((B,))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        above = indicator(_hermite(y0, F0, y1, F1, h[:, None], mid[:, None])) >= threshold
        hi, lo = jnp.where(above, mid, hi), jnp.where(above, lo, mid)
    located = jnp.where(indicator(y0) >= threshold, t0, t0 + hi * h)
    return jnp.where(jnp.isfinite(t_escape) & (t_escape > 0), located, t_escape)


def dopri_solve_batch(
    make_field: Callable,
    make_indicator: Callable,
    params,
    y0,
    *,
    t_max: float,
    threshold: float,
    save_times=None,
    rtol: float = 1e-8,
    atol: float = 1e-14,
    conv_tol: float = 1e-9,
    h0: float = 1e-3,
    max_steps: int = 100_000,
    chunk: int = 200,
    progress: Callable[[float], None] | None = None,
) -> BatchState:
    """Integrate ``y' = F(y)`` for a batch ``y0 (B, n)`` to convergence (module docstring).

    Args:
        make_field: hashable (module-level) function ``params -> F`` with ``F: (B, n) -> (B, n)``
            batched over rows. Passing ``params`` (a pytree of arrays) as a jit argument lets one
            compiled solver serve every Gram matrix / coefficient vector of the same shapes.
        make_indicator: ``params -> ind`` with ``ind: (B, n) -> (B,)``; the escape time of an instance
            is the first time ``ind >= threshold``.
        t_max: final time; save_times: optional increasing ``(T,)`` times at which states are saved
            (steps are clamped to land on them); rtol, atol: local error tolerances; conv_tol: the
            speed ``max_i |F_i(y)|`` below which an escaped instance has converged.
        chunk: loop iterations per compiled call (``progress(fraction of instances finished)`` is
            called between chunks).

    Returns:
        The final :class:`BatchState` (NumPy arrays): ``t`` (stop time), ``y``, ``status``, ``steps``,
        ``t_escape`` (``inf`` if never escaped) and ``saved (B, T, n)`` (after a stop, the
        remaining slots hold the final state).
    """
    y0 = jnp.asarray(y0, dtype=jnp.float64)
    ts = jnp.asarray(np.zeros(0) if save_times is None else np.asarray(save_times, dtype=float))
    T = int(ts.shape[0])
    st = _init_state(make_field, make_indicator, params, y0, jnp.float64(h0), jnp.float64(threshold), T)
    args = (jnp.float64(t_max), jnp.float64(rtol), jnp.float64(atol), jnp.float64(conv_tol), jnp.float64(threshold))
    B = y0.shape[0]
    while True:
        st = _run_chunk(make_field, make_indicator, params, st, ts, *args, chunk=int(chunk),
                        max_steps=int(max_steps))
        running = int(jnp.sum(st.status == RUNNING))
        if progress is not None:
            progress(1.0 - running / max(B, 1))
        if running == 0:
            break
    t_escape = _locate_escape_times(make_indicator, params, st.t_escape, st.cross, jnp.float64(threshold))
    st = st._replace(t_escape=t_escape, cross=())
    st = jax.tree_util.tree_map(np.asarray, st)
    if T > 0:
        unfilled = np.arange(T)[None, :] >= st.ptr[:, None]
        saved = np.where(unfilled[..., None], st.y[:, None, :], st.saved)
        st = st._replace(saved=saved)
    return st
