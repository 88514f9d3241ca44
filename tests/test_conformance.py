"""One contract for every registered population flow and every training algorithm (issue 13).

Parametrised over :data:`mimflow.dynamics.FLOWS` and :data:`mimflow.training.ALGORITHMS` (the
scikit-learn ``check_estimator`` pattern): a new flow or training rule is
covered by registering it and adding one small example below, nothing else.

Flows (state ``M = W*^T W``, teacher Gram ``P = I``; each is the population limit of the algorithm of its name):

* the vector field is finite, of the state's shape, at a random start;
* it preserves its geometry: a student inside the teacher span (``W = W* M``) keeps ``W``'s
  constraint, i.e. ``M^T M = I`` (Stiefel, Grassmannian) or unit columns (sphere), to the solver's tolerance;
* the loss does not increase along the flow (a gradient flow);
* :func:`~mimflow.dynamics.solve_flow` returns a :class:`~mimflow.dynamics.Trajectory` whose
  ``to_dataset()`` has the documented dims ``seed, t, i, j, k``.

Training algorithms: the population ``flow`` is an :class:`~mimflow.dynamics.OverlapFlow` of the
algorithm's shape (``None`` only for the committee, which has no population ODE), its loss is the
algorithm's closed-form population risk at the run's ``M(0)``, and :func:`~mimflow.training.population_reference`
of a short online run is the flow on the run's axes, within ``O(sqrt(lr d))`` of the run.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.dynamics import FLOWS, OverlapFlow, haar_overlaps_batch, neuron_initial_overlaps, solve_flow
from mimflow.training import ALGORITHMS, make_algorithm, population_reference, train_online

TRAJECTORY_DIMS = {"seed", "t", "i", "j", "k"}
LINK = "h2(z1) + h3(z2)"
N_SAVE = 4
"""Save times of every solve and run here (one compiled solver per flow: the shapes are those of the runs)."""
SEEDS = [3, 4]
LR = 4e-4


def _algorithm_example(name: str):
    """A small instance of every registered training algorithm (add one line per new algorithm)."""
    examples = {
        "two-timescale": lambda: make_algorithm("two-timescale", LINK, student_rank=1, degree=2, fit_batch=600),
        "planted": lambda: make_algorithm("planted", LINK),
        "correlation": lambda: make_algorithm("correlation", "h3", teacher_neurons=2, student_neurons=3),
        "committee": lambda: make_algorithm("committee", "h2", student_width=2),
    }
    return examples[name]()


def _flow_example(name: str) -> OverlapFlow:
    """A small instance of every registered flow: the population limit of the algorithm of that name
    (the same flow object, so the compiled solver is shared with the algorithm's test), else one line here."""
    if name in ALGORITHMS:
        return _algorithm_example(name).flow
    raise AssertionError(f"add an example of the flow {name!r} to tests/test_conformance.py")


def _random_start(flow: OverlapFlow, d: int = 30) -> np.ndarray:
    """``(2, r, p)`` exact initial overlaps at dimension ``d``."""
    if flow.geometry == "sphere":
        return np.swapaxes(neuron_initial_overlaps(np.eye(flow.r), d, flow.p, SEEDS), 1, 2)  # columns are neurons
    return np.asarray(haar_overlaps_batch(d, flow.r, flow.p, SEEDS))


def _inside_span(flow: OverlapFlow) -> np.ndarray:
    """``(2, r, p)`` students inside the teacher span (``W = W* M``, ``P = I``): orthonormal or unit columns."""
    A = np.random.default_rng(1).standard_normal((2, flow.r, flow.p))
    if flow.geometry == "sphere":
        return A / np.linalg.norm(A, axis=1, keepdims=True)
    return np.linalg.qr(A)[0][..., : flow.p]


def _constraint_defect(flow: OverlapFlow, M: np.ndarray) -> float:
    gram = np.einsum("...ij,...ik->...jk", M, M)
    if flow.geometry == "sphere":
        return float(np.max(np.abs(np.diagonal(gram, axis1=-2, axis2=-1) - 1.0)))
    return float(np.max(np.abs(gram - np.eye(flow.p))))


def test_every_registered_flow_has_an_example():
    assert set(FLOWS) == {"two-timescale", "planted", "correlation"}


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_flow_contract(name):
    flow = _flow_example(name)
    assert isinstance(flow, OverlapFlow) and flow.algorithm == name
    M0 = _random_start(flow)
    F = np.asarray(flow.vector_field(jnp.asarray(M0[0])))
    assert F.shape == (flow.r, flow.p) and np.all(np.isfinite(F))
    assert np.isfinite(float(flow.loss(jnp.asarray(M0[0]))))

    # geometry: a student inside the teacher span stays on its constraint
    inside = _inside_span(flow)
    assert _constraint_defect(flow, inside) < 1e-12
    traj = solve_flow(flow, inside, t_max=2.0, d=30, n_save=N_SAVE, rtol=1e-9, atol=1e-14)
    assert np.max(np.abs(traj.M[:, -1] - inside)) > 1e-3  # it does move
    assert _constraint_defect(flow, traj.M) < 1e-6

    # a gradient flow: the loss does not increase
    traj = solve_flow(flow, M0, t_max=5.0, d=30, n_save=N_SAVE, rtol=1e-9, atol=1e-14)
    assert np.all(np.diff(traj.loss, axis=1) <= 1e-9 * (1.0 + np.abs(traj.loss[:, :-1])))
    assert np.all(traj.loss[:, -1] < traj.loss[:, 0])

    ds = traj.to_dataset()
    assert set(ds.dims) == TRAJECTORY_DIMS
    assert ds["M"].dims == ("seed", "t", "i", "j") and ds.attrs["algorithm"] == name


def test_every_registered_algorithm_has_an_example():
    assert set(ALGORITHMS) == {"two-timescale", "planted", "correlation", "committee"}


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithm_contract(name):
    algo = _algorithm_example(name)
    assert algo.name == name
    # the d-dimensional engine (it compiles ~3x faster than the reduced chain; tests/test_training.py checks
    # that the two agree in law)
    traj = train_online(algo, d=60, steps=40, lr=LR, seeds=SEEDS, n_save=N_SAVE, save_grid="linear", engine="full")
    assert traj.M.shape[2:] == (algo.r, algo.p)
    assert set(traj.to_dataset().dims) >= TRAJECTORY_DIMS
    if algo.flow is None:
        assert name == "committee"  # the only algorithm without a population ODE in mimflow
        with pytest.raises(MimflowError, match="no population ODE"):
            population_reference(algo, traj)
        return
    flow = algo.flow
    assert isinstance(flow, OverlapFlow) and (flow.r, flow.p) == (algo.r, algo.p)
    Q0 = traj.Q[:, 0] if traj.Q is not None else np.broadcast_to(np.eye(algo.p), (2, algo.p, algo.p))
    for s in range(2):
        risk = float(algo.risk(jnp.asarray(traj.M[s, 0]), jnp.asarray(Q0[s]), algo.params0))
        assert risk == pytest.approx(float(flow.loss(jnp.asarray(traj.M[s, 0]))), rel=1e-12, abs=1e-12)
    ref = population_reference(algo, traj)
    assert ref.M.shape == traj.M.shape and np.array_equal(ref.t, traj.t)
    np.testing.assert_array_equal(ref.M[:, 0], traj.M[:, 0])
    np.testing.assert_allclose(ref.loss[:, 0], traj.loss[:, 0], rtol=1e-12, atol=1e-12)
    # the SGD fluctuation of an entry of M after n steps is ~ lr sqrt(n) |a| (|a| <~ 15 for these links): 0.03
    assert np.max(np.abs(ref.M - traj.M)) < 0.1
    assert set(ref.to_dataset().dims) == TRAJECTORY_DIMS


def test_the_train_command_offers_exactly_the_registered_algorithms():
    """``mimflow train --algorithm`` lists its choices in the light command module (no JAX at ``--help``):
    they must be the registry's, so a new rule is one builder, one ``BUILDERS`` entry and this choice."""
    import typing

    from mimflow.studies.train import TrainConfig

    choices = typing.get_args(TrainConfig.model_fields["algorithm"].annotation)
    assert set(choices) == set(ALGORITHMS)


def test_a_new_training_rule_is_one_builder_and_one_registration(monkeypatch):
    """docs/architecture.md "A training rule": registering a builder is all the library needs; the
    algorithm then runs on both engines and its population reference is its flow, with no other edit."""
    import dataclasses

    from mimflow.training import BUILDERS

    planted = BUILDERS["planted"]

    def relabelled_planted(link, **options):  # a "new" rule: planted SGD under another name
        return dataclasses.replace(planted(link, **options), name="relabelled-planted")

    monkeypatch.setitem(BUILDERS, "relabelled-planted", relabelled_planted)
    algo = make_algorithm("relabelled-planted", "h3")
    run = train_online(algo, d=60, steps=40, lr=LR, seeds=SEEDS, n_save=N_SAVE, save_grid="linear", engine="full")
    ref = population_reference(algo, run)
    assert ref.M.shape == run.M.shape
    assert np.all(np.isfinite(np.asarray(ref.M)))
