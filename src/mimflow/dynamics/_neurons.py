r"""Every neuron of every seed of the correlation flow in one batched solve, with escape times (docs/math/neurons.md §2.2).

The vector field is :func:`~mimflow.dynamics.neuron_vector_field`, the per-neuron form of
:func:`~mimflow.dynamics.correlation_flow` (the neurons of the correlation loss are independent, so
a network of ``n`` neurons is ``n`` columns integrated separately). Contents:

* :func:`solve_neurons`: every neuron of every seed in one compiled, batched call
  (:func:`~mimflow.dynamics._dopri_batch.dopri_solve_batch`), with per-neuron escape times (first time
  :math:`\max_j |m_j| \ge 1/2`) and a stop at convergence; the result is a :class:`NeuronRun`
  (:meth:`NeuronRun.to_dataset` gives its :class:`xarray.Dataset`).
* :func:`classify_neuron_end_points`: which index vector each neuron reached.

Initial overlaps: :func:`~mimflow.dynamics.neuron_initial_overlaps` (:mod:`mimflow.dynamics._initial`);
d-dimensional cross-checks: :mod:`mimflow.dynamics._neuron_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics._correlation import (
    _polyval,
    check_coefficients,
    check_gram,
    derivative_coefficients,
    neuron_vector_field,
)
from mimflow.dynamics._dopri_batch import CONVERGED, NONFINITE, T_MAX, dopri_solve_batch, row_max, row_sum

DEFAULT_THRESHOLD = 0.5
"""A neuron has escaped the search phase when its largest overlap :math:`\\max_j |m_j|` reaches 1/2."""


def _overlap_field(params):
    a, Q = params
    return lambda m: neuron_vector_field(m, a, Q)


def _orthogonal_overlap_field(params):
    r"""``Q = I``: :math:`\dot m = g'(m) - m\,(m^Tg'(m))`, without the ``k x k`` product."""
    a, _ = params

    def F(m):
        gp = _polyval(derivative_coefficients(a), m)
        return gp - m * row_sum(m * gp)

    return F


def _max_abs(params):
    del params
    return lambda y: row_max(jnp.abs(y))


# ----------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class NeuronRun:
    """Result of :func:`solve_neurons` (NumPy arrays; ``S`` seeds, ``n`` neurons, ``k`` index vectors).

    Attributes:
        m0, m: initial and final overlaps ``(S, n, k)``.
        escape_time: ``(S, n)`` first time :math:`\\max_j|m_j| \\ge` ``threshold`` (``inf``: never).
        t_stop: ``(S, n)`` time each neuron stopped (converged, or ``t_max``).
        status: ``(S, n)`` solver status (1 converged, 2 reached t_max, 4 step budget).
        steps: ``(S, n)`` solver steps.
        save_times, saved: optional ``(T,)`` and ``(S, n, T, k)`` trajectory samples.
    """

    m0: np.ndarray
    m: np.ndarray
    escape_time: np.ndarray
    t_stop: np.ndarray
    status: np.ndarray
    steps: np.ndarray
    t_max: float
    threshold: float
    save_times: np.ndarray | None = None
    saved: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    @property
    def converged(self) -> np.ndarray:
        return self.status == CONVERGED

    def to_dataset(self, seeds=None):
        """An :class:`xarray.Dataset` with dims ``seed, neuron, index`` (and ``t`` when saved).

        Variables: ``m0``, ``m_final`` ``(seed, neuron, index)``; ``escape_time`` (``-1``: never, attribute
        ``escape_time_missing``), ``escaped``, ``converged``, ``t_stop``, ``status``, ``steps``
        ``(seed, neuron)``; with save times, ``m`` ``(seed, neuron, t, index)`` at ``t = [0, save_times]``
        (the initial overlaps first). Attributes: ``t_max``, ``threshold`` and the scalar ``info`` entries.

        Args:
            seeds: ``(S,)`` labels of the seeds (default ``0..S-1``).
        """
        S, n, k = self.m0.shape
        escaped = np.isfinite(self.escape_time)
        data = {
            "m0": (("seed", "neuron", "index"), self.m0),
            "m_final": (("seed", "neuron", "index"), self.m),
            "escape_time": (("seed", "neuron"), np.where(escaped, self.escape_time, -1.0)),
            "escaped": (("seed", "neuron"), escaped),
            "converged": (("seed", "neuron"), self.converged),
            "t_stop": (("seed", "neuron"), self.t_stop),
            "status": (("seed", "neuron"), self.status),
            "steps": (("seed", "neuron"), self.steps),
        }
        coords = {"seed": np.arange(S) if seeds is None else np.asarray(seeds).reshape(-1),
                  "neuron": np.arange(n), "index": np.arange(k)}
        if self.saved is not None and self.save_times is not None:
            data["m"] = (("seed", "neuron", "t", "index"), np.concatenate([self.m0[:, :, None], self.saved], axis=2))
            coords["t"] = np.concatenate([[0.0], self.save_times])
        attrs = {"t_max": self.t_max, "threshold": self.threshold, "escape_time_missing": -1.0,
                 **{key: value for key, value in self.info.items() if isinstance(value, (int, float, str))}}
        return xr.Dataset(data, coords=coords, attrs=attrs)


def solve_neurons(
    a,
    Q,
    m0,
    *,
    t_max: float,
    threshold: float = DEFAULT_THRESHOLD,
    save_times=None,
    rtol: float = 1e-8,
    atol: float = 1e-14,
    conv_tol: float | None = None,
    max_steps: int = 100_000,
    chunk: int = 200,
    progress=None,
) -> NeuronRun:
    r"""Integrate :math:`\dot m = (Q - mm^T)g'(m)` for every neuron and seed in one batched call.

    Args:
        a: ``(K+1,)`` coefficients of :math:`g(m) = \sum_p a_p m^p`.
        Q: ``(k, k)`` Gram matrix of the index vectors.
        m0: ``(S, n, k)`` (or ``(n, k)``) initial overlaps, e.g. :func:`neuron_initial_overlaps`.
        t_max: final time for neurons that have not converged.
        threshold: escape threshold on :math:`\max_j |m_j|`.
        save_times: optional increasing times at which to save every neuron's overlaps.
        rtol, atol, conv_tol: solver tolerances and the convergence speed (``max_j |\dot m_j|``;
            default ``100 rtol``: an explicit solver holds the state only to ~``rtol``, so near a
            minimum with curvature ``lambda`` the speed cannot fall far below ``lambda rtol``, STACK.md).

    Raises:
        MimflowError: when a neuron's overlaps become non-finite (never returned as a result).
    """
    Q = check_gram(Q)
    a = np.asarray(a, dtype=float)
    m0 = np.asarray(m0, dtype=float)
    if m0.ndim == 2:
        m0 = m0[None]
    if m0.ndim != 3 or m0.shape[2] != Q.shape[0]:
        raise MimflowError(f"initial overlaps must have shape (seeds, neurons, {Q.shape[0]}), got {m0.shape}")
    a = check_coefficients(a)
    S, n, k = m0.shape
    conv_tol = 100.0 * rtol if conv_tol is None else conv_tol
    # shape buckets, so that runs of similar sizes share one compiled solver: the batch is padded to
    # a power of two (>= 64) with copies of the first neuron, the coefficients with zeros
    a_pad = np.zeros(max(4, -(-a.size // 4) * 4))
    a_pad[: a.size] = a
    B = S * n
    B_pad = max(64, 1 << (B - 1).bit_length())
    y0 = m0.reshape(B, k)
    y0 = np.concatenate([y0, np.repeat(y0[:1], B_pad - B, axis=0)])
    params = (jnp.asarray(a_pad), jnp.asarray(Q))
    field_factory = _orthogonal_overlap_field if np.array_equal(Q, np.eye(k)) else _overlap_field
    st = dopri_solve_batch(field_factory, _max_abs, params, y0, t_max=t_max,
                           threshold=threshold, save_times=save_times, rtol=rtol, atol=atol, conv_tol=conv_tol,
                           max_steps=max_steps, chunk=chunk, progress=progress)
    st = jax.tree_util.tree_map(lambda x: x[:B], st)
    if np.any(st.status == NONFINITE) or not np.all(np.isfinite(st.y)):
        raise MimflowError("the neuron overlap ODE diverged (non-finite overlaps): check the links' coefficients")
    saved = None
    if save_times is not None:
        saved = st.saved.reshape(S, n, -1, k)
    return NeuronRun(m0=m0, m=st.y.reshape(S, n, k), escape_time=st.t_escape.reshape(S, n),
                     t_stop=st.t.reshape(S, n), status=st.status.reshape(S, n), steps=st.steps.reshape(S, n),
                     t_max=float(t_max), threshold=float(threshold),
                     save_times=None if save_times is None else np.asarray(save_times, dtype=float), saved=saved,
                     info={"rtol": rtol, "atol": atol, "conv_tol": conv_tol, "t_max_hit": int(np.sum(st.status == T_MAX))})


# ----------------------------------------------------------------------------- end points

INDEX, AVERAGE, OTHER, NONE = "index vector", "average", "other", "none"
END_POINT_LABELS = (INDEX, AVERAGE, OTHER, NONE)


def classify_neuron_end_points(m, converged, *, gap: float = 1e-3):
    r"""Which index vector each neuron reached.

    A converged neuron whose largest :math:`|m_j|` exceeds every other :math:`|m_l|` by more than
    ``gap`` reached :math:`\mathrm{sign}(m_j) v_j` (label ``"index vector"``); one whose overlaps are
    all equal (spread below ``gap``) and non-zero reached the average :math:`\bar w \propto \sum_j v_j`
    (``"average"``, docs/math/neurons.md §2.4); any other converged point is ``"other"`` (e.g. a sub-average
    saddle); a neuron that did not converge is ``"none"`` (for odd :math:`p^*`, a neuron whose
    overlaps are all negative drifts towards :math:`w \perp V`, docs/math/neurons.md §2.3).

    Returns:
        ``(index, sign, label)``: arrays of the shape of ``m[..., 0]``; ``index`` is ``j`` (0-based)
        or -1, ``sign`` is :math:`\pm1` or 0, ``label`` a string array.
    """
    m = np.asarray(m, dtype=float)
    converged = np.asarray(converged, dtype=bool)
    absm = np.abs(m)
    j = np.argmax(absm, axis=-1)
    top = np.take_along_axis(absm, j[..., None], axis=-1)[..., 0]
    if m.shape[-1] > 1:
        second = np.sort(absm, axis=-1)[..., -2]
    else:
        second = np.zeros_like(top)
    spread = m.max(axis=-1) - m.min(axis=-1)
    is_index = converged & (top - second > gap)
    is_average = converged & ~is_index & (spread < gap) & (top > gap) & (m.shape[-1] > 1)
    label = np.where(is_index, INDEX, np.where(is_average, AVERAGE, np.where(converged, OTHER, NONE)))
    sign = np.where(is_index, np.sign(np.take_along_axis(m, j[..., None], axis=-1)[..., 0]), 0).astype(int)
    index = np.where(is_index, j, -1)
    return index, sign, label
