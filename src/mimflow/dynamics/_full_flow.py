r"""The full d-dimensional Riemannian gradient flow on ``W`` (an independent check of the overlap ODE).

The reduced flows of :mod:`mimflow.dynamics._flows` are closed ODEs in the overlap
:math:`M = W_*^T W \in \mathbb{R}^{r\times p}`. Here the same flows are integrated on the weights
:math:`W \in \mathbb{R}^{d\times p}` themselves, with the loss :math:`L(W) = \ell(W_*^T W)`
(``flow.loss``), whose Euclidean gradient is :math:`\nabla_W L = W_*\,\nabla_M\ell(M)`:

* two-timescale (Grassmannian, docs/math/grassmannian-flow.md §1.4):
  :math:`\dot W = -(I_d - W W^T)\,\nabla_W L`;
* planted (Stiefel, embedded metric, docs/math/planted.md §1.7):
  :math:`\dot W = -\big(\nabla_W L - W\,\mathrm{sym}(W^T\nabla_W L)\big)`.

Multiplying by :math:`W_*^T` and using :math:`W^T W = I` gives back exactly the overlap ODEs
(:math:`W_*^T W W^T W_* = M M^T`, :math:`W^T \nabla_W L = M^T\nabla_M\ell`), so the reduced and the
full solutions from the same :math:`W(0)` (``M(0) = W_*^T W(0)``) agree up to the two integrators'
errors. Nothing d-dimensional is shared with the reduced code except the loss ``flow.loss``.

Constraint. Both vector fields are tangent to the Stiefel manifold, so the exact flow keeps
:math:`W^T W = I`; the integrator does not, and no retraction is applied inside the ODE. The
orthonormality defect :math:`\max_{ij}|W^T W - I|_{ij}` is recorded at every save time. Off the
manifold the defect :math:`E = W^T W - I` obeys a *linear* ODE (``G`` the Euclidean gradient;
two-timescale :math:`\dot E = E\,W^T G + G^T W E`, planted :math:`\dot E = E S + S E` with
:math:`S = \mathrm{sym}(W^T G)`), so an integration error of size ``tol`` stays of that size up to
a factor :math:`\exp\int 2\|W^T G\|`; ``retraction="polar"``
re-orthonormalises :math:`W \leftarrow W (W^T W)^{-1/2}` at every save time for long runs.

Stiffness. Before and through the escapes the system is not stiff and an explicit Runge-Kutta
method (Tsit5, PID controller) is efficient; after convergence it is (relaxation at rate O(1)
against ``t`` up to ``d^{s-1}``), so stop at a ``t_max`` shortly after the escapes of interest.
An implicit solver would need a ``dp x dp`` Jacobian, hopeless at ``d ~ 10^3``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError, check_finite
from mimflow._linalg import inverse_sqrt
from mimflow.dynamics._flows import OverlapFlow
from mimflow.dynamics._initial import _check_dims
from mimflow.dynamics._solve import stop_loss_for
from mimflow.dynamics._trajectory import Trajectory
from mimflow.targets import haar_stiefel

FULL_SOLVERS = ("tsit5", "dopri8")
RETRACTIONS = (None, "polar")


@dataclass(frozen=True)
class FullFlowResult:
    """Output of :func:`solve_full_flow`.

    Attributes:
        trajectory: a one-seed :class:`Trajectory` of ``M(t) = W*^T W(t)`` at the save times (same
            type and layout as :func:`solve_flow`, so comparing is a subtraction).
        defect: ``(T,)`` orthonormality defect ``max |W^T W - I|`` at the save times (before any
            re-orthonormalisation at that time).
        W_final: ``(d, p)`` the weights at the last save time.
        n_steps: accepted + rejected solver steps.
    """

    trajectory: Trajectory
    defect: np.ndarray
    W_final: np.ndarray
    n_steps: int

    @property
    def max_defect(self) -> float:
        return float(np.max(self.defect))

    def to_dataset(self):
        """:meth:`Trajectory.to_dataset` of the run (dims ``seed, t, i, j, k``) plus ``defect`` ``(t,)``
        (``W_final``, d-dimensional, is left out)."""
        return self.trajectory.to_dataset().assign(defect=(("t",), self.defect))


class FullFlowInit(NamedTuple):
    """``W_star (d, r)``, ``W0 (d, p)`` and ``M0 = W_star^T W0 (r, p)`` (see :func:`full_flow_from_overlaps`)."""

    W_star: np.ndarray
    W0: np.ndarray
    M0: np.ndarray


def _grassmann_descent(G, W, WtG):
    return -(G - W @ WtG)


def _stiefel_descent(G, W, WtG):
    return -(G - W @ (0.5 * (WtG + WtG.T)))


RIEMANNIAN_DESCENT = {"grassmann": _grassmann_descent, "stiefel": _stiefel_descent}
"""Minus the Riemannian gradient ``(G, W, W^T G) -> dW/dt`` per geometry of the flow (module docstring)."""


def full_vector_field(flow: OverlapFlow, W_star: jax.Array):
    r"""``W (d, p) -> dW/dt (d, p)``: the d-dimensional Riemannian gradient flow of ``flow`` (module docstring)."""
    if flow.geometry not in RIEMANNIAN_DESCENT:
        raise MimflowError(f"the full flow is written for orthonormal students ({', '.join(RIEMANNIAN_DESCENT)}), "
                           f"not for the {flow.geometry} geometry of the {flow.algorithm} flow")
    grad_M = jax.grad(flow.loss)
    descent = RIEMANNIAN_DESCENT[flow.geometry]

    def vector_field(W):
        G = W_star @ grad_M(W_star.T @ W)  # Euclidean gradient of L(W) = loss(W*^T W)
        return descent(G, W, W.T @ G)

    return vector_field


def _defect(W):
    p = W.shape[1]
    return jnp.max(jnp.abs(W.T @ W - jnp.eye(p, dtype=W.dtype)))


def _polar(W):
    return W @ inverse_sqrt(W.T @ W)


def _diffrax_solver(name: str):
    return {"tsit5": diffrax.Tsit5, "dopri8": diffrax.Dopri8}[name]()


@partial(jax.jit, static_argnames=("flow", "solver", "max_steps"))
def _solve_polar(flow, W_star, W0, ts, solver, rtol, atol, max_steps):
    vf = full_vector_field(flow, W_star)
    term = diffrax.ODETerm(lambda t, W, args: vf(W))

    def interval(carry, t_pair):
        W, steps, ok = carry
        t0, t1 = t_pair
        sol = diffrax.diffeqsolve(
            term, _diffrax_solver(solver), t0=t0, t1=t1, dt0=None, y0=W,
            stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
            saveat=diffrax.SaveAt(t1=True), max_steps=max_steps, throw=False,
        )
        W1 = sol.ys[-1]
        out = (W_star.T @ W1, _defect(W1))
        return (_polar(W1), steps + sol.stats["num_steps"], ok & (sol.result == diffrax.RESULTS.successful)), out

    carry0 = (W0, jnp.zeros((), jnp.int64), jnp.ones((), bool))
    (W_end, steps, ok), (M, defect) = jax.lax.scan(interval, carry0, (ts[:-1], ts[1:]))
    return M, defect, W_end, steps, ok


@partial(jax.jit, static_argnames=("flow", "solver", "max_steps"))
def _solve_plain(flow, W_star, W0, ts, solver, rtol, atol, max_steps):
    vf = full_vector_field(flow, W_star)
    sol = diffrax.diffeqsolve(
        diffrax.ODETerm(lambda t, W, args: vf(W)), _diffrax_solver(solver), t0=ts[0], t1=ts[-1], dt0=None, y0=W0,
        stepsize_controller=diffrax.PIDController(rtol=rtol, atol=atol),
        saveat=diffrax.SaveAt(subs=[diffrax.SubSaveAt(ts=ts[1:], fn=lambda t, W, args: (W_star.T @ W, _defect(W))),
                                    diffrax.SubSaveAt(t1=True)]),
        max_steps=max_steps, throw=False,
    )
    (M, defect), W_end = sol.ys
    return M, defect, W_end[-1], sol.stats["num_steps"], sol.result == diffrax.RESULTS.successful


def _check_frame(name: str, W, d: int | None = None) -> np.ndarray:
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise MimflowError(f"{name} must be a (d, columns) matrix, got shape {W.shape}")
    if d is not None and W.shape[0] != d:
        raise MimflowError(f"{name} has {W.shape[0]} rows but W_star has {d}: both live in R^d")
    check_finite(name, W)
    defect = float(np.max(np.abs(W.T @ W - np.eye(W.shape[1]))))
    if defect > 1e-10:
        raise MimflowError(f"{name} must have orthonormal columns (max |W^T W - I| = {defect:.2e} > 1e-10): "
                           "orthonormalise it (e.g. haar_stiefel or a QR factor)")
    return W


def solve_full_flow(
    flow: OverlapFlow,
    W_star,
    W0,
    *,
    save_times,
    rtol: float = 1e-10,
    atol: float = 1e-13,
    solver: str = "tsit5",
    retraction: str | None = None,
    max_steps: int = 1_000_000,
    link: str = "",
) -> FullFlowResult:
    r"""Integrate the d-dimensional Riemannian gradient flow of ``flow`` from ``W0``.

    Args:
        flow: from :func:`two_timescale_flow` / :func:`planted_flow` (teacher rank ``r``, student ``p``).
        W_star: ``(d, r)`` teacher frame, orthonormal columns.
        W0: ``(d, p)`` initial student, orthonormal columns.
        save_times: ``(T,)`` increasing, ``save_times[0] = 0`` (e.g. :func:`save_times`, so the
            result lines up with :func:`solve_flow`).
        rtol, atol: diffrax PID controller tolerances (per component of ``W``).
        solver: ``"tsit5"`` (default) or ``"dopri8"`` (explicit; see the module docstring on stiffness).
        retraction: ``None`` (default: no projection at all; the drift is reported) or ``"polar"``
            (``W <- W (W^T W)^{-1/2}`` at every save time, never inside a step).
        max_steps: solver step budget.

    Returns:
        :class:`FullFlowResult`: the one-seed :class:`Trajectory` of ``M(t) = W*^T W(t)`` (``d`` is
        the number of rows of ``W_star``; ``converged`` means the loss fell below
        :func:`stop_loss_for`), the orthonormality defect at each save time, ``W`` at the end.

    Raises:
        MimflowError: bad shapes, non-orthonormal frames, a solver failure (step budget, non-finite).

    Example:
        >>> import jax
        >>> from mimflow.dynamics import planted_flow, save_times
        >>> from mimflow.targets import multivariate_spectrum
        >>> flow = planted_flow(multivariate_spectrum("h3", 3))
        >>> init = full_flow_from_overlaps(flow, 50, key=jax.random.PRNGKey(0))
        >>> res = solve_full_flow(flow, init.W_star, init.W0, save_times=save_times(1.0, 5))
        >>> res.trajectory.M.shape, res.max_defect < 1e-10
        ((1, 5, 1, 1), True)
    """
    W_star = _check_frame("W_star", W_star)
    d = W_star.shape[0]
    W0 = _check_frame("W0", W0, d)
    if W_star.shape[1] != flow.r or W0.shape[1] != flow.p:
        raise MimflowError(f"the flow has teacher rank {flow.r} and student rank {flow.p}, but W_star has "
                           f"{W_star.shape[1]} and W0 {W0.shape[1]} columns")
    ts = np.asarray(save_times, dtype=np.float64).reshape(-1)
    check_finite("save_times", ts)
    if ts.size < 2 or ts[0] != 0.0 or np.any(np.diff(ts) <= 0):
        raise MimflowError("save_times must start at 0 and increase strictly (at least two times)")
    if solver not in FULL_SOLVERS:
        raise MimflowError(f"unknown solver {solver!r}; known: {', '.join(FULL_SOLVERS)}")
    if retraction not in RETRACTIONS:
        raise MimflowError(f"unknown retraction {retraction!r}; known: None, 'polar'")
    for name, tol in (("rtol", rtol), ("atol", atol)):
        check_finite(name, tol)
        if tol <= 0:
            raise MimflowError(f"{name} must be positive, got {tol}")

    start = time.perf_counter()
    args = (flow, jnp.asarray(W_star), jnp.asarray(W0), jnp.asarray(ts), solver, jnp.asarray(float(rtol)),
            jnp.asarray(float(atol)), int(max_steps))
    M, defect, W_end, steps, ok = (_solve_polar if retraction == "polar" else _solve_plain)(*args)
    M, defect, W_end = np.asarray(M), np.asarray(defect), np.asarray(W_end)
    seconds = time.perf_counter() - start
    if not bool(ok) or not np.all(np.isfinite(M)):
        raise MimflowError(f"the full flow failed before t = {ts[-1]:g} (step budget {max_steps} or non-finite "
                           "state): it is stiff after convergence, so stop sooner or raise max_steps")
    M0 = W_star.T @ W0
    M = np.concatenate([M0[None], M], axis=0)[None]
    defect = np.concatenate([[float(np.max(np.abs(W0.T @ W0 - np.eye(W0.shape[1]))))], defect])
    loss = np.asarray(jax.vmap(flow.loss)(jnp.asarray(M[0])))[None]
    stop = stop_loss_for(flow)
    converged = np.array([stop > 0 and bool(loss[0, -1] < stop)])
    traj = Trajectory(
        t=ts, M=M, loss=loss, d=int(d), seeds=np.array([0]), algorithm=flow.algorithm, link=link,
        converged=converged, t_stop=np.array([ts[-1]]), n_steps=np.array([int(steps)]),
        info={"solver": f"full-{solver}", "rtol": rtol, "atol": atol, "retraction": str(retraction),
              "max_orthonormality_defect": float(np.max(defect)), "wall_seconds": seconds,
              "student_rank": flow.p, "degree": flow.degree},
    )
    return FullFlowResult(traj, defect, W_end, int(steps))


def full_flow_from_overlaps(flow: OverlapFlow, d: int, M0=None, *, key) -> FullFlowInit:
    r"""A d-dimensional initial condition for :func:`solve_full_flow` with ``W_star = [I_r; 0]``.

    * ``M0=None``: ``W0`` Haar on ``St(d, p)`` (:func:`~mimflow.targets.haar_stiefel`) and
      ``M0 = W0[:r]``, so the reduced flow from ``M0`` and the full flow from ``W0`` start from the
      *same* point.
    * ``M0`` given (``(r, p)``, ``||M0||_op < 1``, e.g. from :func:`haar_overlaps`): the lift
      :math:`W_0 = [M_0;\ U (I - M_0^T M_0)^{1/2}]` with ``U`` Haar on ``St(d - r, p)``. Given
      ``M``, the part of a Haar ``W`` orthogonal to ``W*`` is ``U (I - M^T M)^{1/2}`` with ``U`` Haar
      (its polar factor's law is invariant under the rotations fixing ``W*``), so lifting
      :func:`haar_overlaps` draws this way gives ``W0`` Haar.

    Args:
        flow: the flow (gives ``r`` and ``p``).
        d: ambient dimension, ``d >= r + p``.
        M0: optional ``(r, p)`` overlaps.
        key: JAX PRNG key.
    """
    _check_dims(d, flow.r, flow.p)
    r, p = flow.r, flow.p
    W_star = np.zeros((d, r))
    W_star[:r, :r] = np.eye(r)
    if M0 is None:
        W0 = np.asarray(haar_stiefel(key, d, p))
        return FullFlowInit(W_star, W0, W0[:r].copy())
    M0 = np.asarray(M0, dtype=np.float64)
    if M0.shape != (r, p):
        raise MimflowError(f"M0 must have shape ({r}, {p}), got {M0.shape}")
    check_finite("M0", M0)
    w, V = np.linalg.eigh(np.eye(p) - M0.T @ M0)
    if np.min(w) <= 0:
        raise MimflowError(f"M0 must have operator norm < 1 to be lifted (largest singular value "
                           f"{np.sqrt(max(0.0, 1.0 - np.min(w))):.6g})")
    C = (V * np.sqrt(w)[None, :]) @ V.T
    U = np.asarray(haar_stiefel(key, d - r, p))
    return FullFlowInit(W_star, np.concatenate([M0, U @ C], axis=0), M0.copy())
