r"""The population flow on the same axes as a finite-sample run, and their distance.

:func:`population_reference` integrates the ``eta -> 0`` limit of an algorithm (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2)
from the *same* initial overlaps ``M(0)`` as the run, saved at the run's times ``t = step * lr``, and
returns a :class:`~mimflow.dynamics.Trajectory` of the same shape: comparing is a subtraction.

* two-timescale / planted: :func:`mimflow.dynamics.solve_flow` of ``algorithm.flow``;
* correlation: every column of ``M = V^T W`` follows :math:`\dot m = (P - mm^T)g'(m)` (docs/math/neurons.md §2.2,
  :func:`mimflow.dynamics.neuron_vector_field`), integrated with the batched Rosenbrock solver of
  :mod:`mimflow.dynamics` at the run's save times;
* committee: no population ODE in mimflow (MimflowError).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from mimflow import _jax  # noqa: F401
from mimflow._errors import MimflowError
from mimflow.dynamics import Trajectory, neuron_vector_field, solve_flow
from mimflow.training._algorithms import TrainingAlgorithm


def _correlation_field(algo: TrainingAlgorithm):
    g = np.asarray(algo.spectrum.values**2)  # g(m) = sum_p c_p^2 m^p (sigma = sigma*)
    P = np.asarray(algo.teacher_gram)
    r, p = algo.r, algo.p

    def field(y):
        # the columns of M = V^T W are the neurons' overlap vectors m (docs/math/neurons.md §2.2)
        return neuron_vector_field(y.reshape(r, p).T, g, P).T.reshape(-1)

    def loss(y):
        return algo.risk(y.reshape(r, p), jnp.eye(p), {})

    return field, loss


@partial(jax.jit, static_argnames=("algo",))
def _solve_correlation(algo, y0, ts, rtol, atol):
    from mimflow.dynamics import rosenbrock_solve_batch

    field, loss = _correlation_field(algo)
    # the correlation loss is negative, so the solver's stop rule (loss < stop_loss) is given a
    # constant non-negative loss: it never stops early
    ys, state = rosenbrock_solve_batch(field, lambda y: jnp.ones((), dtype=y.dtype), y0, ts, rtol=rtol, atol=atol,
                                       stop_loss=-1.0)
    return ys, jax.vmap(jax.vmap(loss))(ys), state


def population_reference(algorithm: TrainingAlgorithm, trajectory: Trajectory, *, rtol: float = 1e-9,
                         atol: float = 1e-14) -> Trajectory:
    """The population flow from ``trajectory.M[:, 0]`` at ``trajectory.t`` (same shapes).

    Raises:
        MimflowError: for algorithms without a population ODE (committee).
    """
    M0 = np.asarray(trajectory.M[:, 0])
    ts = np.asarray(trajectory.t, dtype=float)
    S = M0.shape[0]
    if algorithm.flow is not None:
        return solve_flow(algorithm.flow, M0, t_max=float(ts[-1]), d=trajectory.d, seeds=trajectory.seeds,
                          link=algorithm.link, times=ts, rtol=rtol, atol=atol)
    if algorithm.name == "correlation":
        y0 = jnp.asarray(M0.reshape(S, -1))
        ys, losses, state = _solve_correlation(algorithm, y0, jnp.asarray(ts[1:]), jnp.float64(rtol),
                                               jnp.float64(atol))
        ys, losses = np.asarray(ys), np.asarray(losses)
        if not np.all(np.isfinite(ys)):
            raise MimflowError("the neuron ODE diverged (non-finite overlaps): check the link's coefficients")
        M = np.concatenate([M0[:, None], ys.reshape(S, -1, algorithm.r, algorithm.p)], axis=1)
        loss0 = np.asarray(jax.vmap(lambda m: algorithm.risk(m, jnp.eye(algorithm.p), {}))(jnp.asarray(M0)))
        return Trajectory(t=ts, M=M, loss=np.concatenate([loss0[:, None], losses], axis=1), d=trajectory.d,
                          seeds=trajectory.seeds, algorithm="correlation", link=algorithm.link,
                          converged=np.zeros(S, dtype=bool), t_stop=np.asarray(state.t), n_steps=np.asarray(state.steps),
                          info={"solver": "rosenbrock", "rtol": rtol, "atol": atol})
    raise MimflowError(f"no population ODE is available for algorithm {algorithm.name!r}: "
                       "--compare-theory applies to two-timescale, planted and correlation")


def max_deviation(trajectory: Trajectory, reference: Trajectory) -> np.ndarray:
    """``(S,)``: :math:`\\max_t \\max_{ij} |M(t) - M_{ref}(t)|_{ij}` per seed (same save times required)."""
    if trajectory.M.shape != reference.M.shape or not np.allclose(trajectory.t, reference.t, rtol=1e-12, atol=0):
        raise MimflowError("the two trajectories must have the same shapes and save times to be compared")
    return np.max(np.abs(trajectory.M - reference.M), axis=(1, 2, 3))
