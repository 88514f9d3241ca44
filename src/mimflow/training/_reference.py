r"""The population flow on the same axes as a finite-sample run, and their distance.

:func:`population_reference` integrates the ``eta -> 0`` limit of an algorithm (docs/math/grassmannian-flow.md §1.4, docs/math/planted.md §1.7, docs/math/neurons.md §2.2)
from the *same* initial overlaps ``M(0)`` as the run, saved at the run's times ``t = step * lr``, and
returns a :class:`~mimflow.dynamics.Trajectory` of the same shape: comparing is a subtraction.

Every algorithm carries its limit as ``algorithm.flow``, an :class:`~mimflow.dynamics.OverlapFlow`
(two-timescale, planted, correlation: every column of ``M = V^T W`` follows :math:`\dot m = (P - mm^T)g'(m)`),
so the reference is one :func:`mimflow.dynamics.solve_flow` call; the committee has no population ODE
in mimflow (``flow is None``: MimflowError).
"""

from __future__ import annotations

import numpy as np

from mimflow._errors import MimflowError
from mimflow.dynamics import Trajectory, solve_flow
from mimflow.training._algorithm import TrainingAlgorithm


def population_reference(algorithm: TrainingAlgorithm, trajectory: Trajectory, *, rtol: float = 1e-9,
                         atol: float = 1e-14) -> Trajectory:
    """The population flow from ``trajectory.M[:, 0]`` at ``trajectory.t`` (same shapes).

    Raises:
        MimflowError: for algorithms without a population ODE (committee).
    """
    if algorithm.flow is None:
        raise MimflowError(f"no population ODE is available for algorithm {algorithm.name!r}: "
                           "--compare-theory applies to two-timescale, planted and correlation")
    M0 = np.asarray(trajectory.M[:, 0])
    ts = np.asarray(trajectory.t, dtype=float)
    return solve_flow(algorithm.flow, M0, t_max=float(ts[-1]), d=trajectory.d, seeds=trajectory.seeds,
                      link=algorithm.link, times=ts, rtol=rtol, atol=atol)


def max_deviation(trajectory: Trajectory, reference: Trajectory) -> np.ndarray:
    """``(S,)``: :math:`\\max_t \\max_{ij} |M(t) - M_{ref}(t)|_{ij}` per seed (same save times required)."""
    if trajectory.M.shape != reference.M.shape or not np.allclose(trajectory.t, reference.t, rtol=1e-12, atol=0):
        raise MimflowError("the two trajectories must have the same shapes and save times to be compared")
    return np.max(np.abs(trajectory.M - reference.M), axis=(1, 2, 3))
