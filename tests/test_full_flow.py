"""The reduced overlap ODE against the full d-dimensional Riemannian flow from the same W(0)
(issue 4 section 4; docs/math/grassmannian-flow.md §1.4 and docs/math/planted.md §1.7; mimflow.dynamics._full_flow).

Tolerance (derived, not tuned). Multiplying the full flow by W*^T gives the reduced ODE exactly
(module docstring of ``_full_flow``), and both start from the same ``M(0) = W*^T W(0)`` (bitwise),
so ``M_red - M_full = e_red - e_full`` with ``e`` each integrator's global error. Each global
error is estimated by its change when the tolerance is divided by 100:
``ê(tau) = |y(tau) - y(tau/100)| = e(tau) - e(tau/100)``. With a global error proportional to
``tau^q`` (~1 for Tsit5 here) ``e(tau) = ê / (1 - 100^-q) <= 1.05 ê``. For the reduced ode23s solver
(order and Jacobian reuse make its rate less predictable) the contraction factor is *measured*
from a third, tighter run: ``rho = ê(tau/10) / ê(tau)`` must be < 0.5 (the solver converges) and then
``e(tau) <= ê(tau) / (1 - rho)``; hence

    max_t |M_red - M_full| <= max_t ê_red / (1 - rho) + 1.05 max_t ê_full + 1e-13 (round-off of O(1) overlaps).

The global errors are much larger than ``rtol`` because an escape from a saddle amplifies early
errors: for ``dm/dt = a m^k`` a perturbation of ``m(0)`` grows like ``(m/m0)^k`` (~4e3 for a
quartic planted link at d = 1000 going from m ~ 0.03 to 0.5).
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.dynamics import full_flow_from_overlaps, make_flow, save_times, solve_flow, solve_full_flow
from mimflow.targets import multivariate_spectrum

D = 1000
RTOL, ATOL = 1e-10, 1e-13  # full flow (Tsit5, per component of W whose entries are ~ d^-1/2)
RTOL_RED, ATOL_RED = 1e-10, 1e-15  # reduced flow (ode23s Rosenbrock, per component of M)
REFINE_RED, REFINE_FULL = 10.0, 100.0
FACTOR_FULL = 1.0 / (1.0 - REFINE_FULL ** (-2.0 / 3.0))
N_SAVE = 60

# (algorithm, link, truncation degree, t_max): t_max just after the first escape(s), where the
# explicit full-flow solver is still efficient. Escape times (docs/math/saddles.md §1.6, d = 1000): planted h4,
# d/8 = 125; two-timescale h2, d/4 = 250 (alpha = 1); the two-index two-timescale link escapes
# along z1 at ~ d/8 and stays on the z2 plateau (~ d^2/12); the planted h4 + h4 link escapes twice.
CASES = {
    "planted-r1": ("planted", "h4", 4, 300.0),
    "two-timescale-r1": ("two-timescale", "h2", 2, 800.0),
    "planted-r2": ("planted", "h4(z1) + h4(z2)", 4, 400.0),
    "two-timescale-r2": ("two-timescale", "h2(z1) + h3(z2)", 3, 1000.0),
}


@functools.cache
def _run(case: str):
    algorithm, link, degree, t_max = CASES[case]
    flow = make_flow(algorithm, multivariate_spectrum(link, degree))
    init = full_flow_from_overlaps(flow, D, key=jax.random.PRNGKey(3))
    ts = save_times(t_max, N_SAVE)
    full = solve_full_flow(flow, init.W_star, init.W0, save_times=ts, rtol=RTOL, atol=ATOL)
    full_ref = solve_full_flow(flow, init.W_star, init.W0, save_times=ts, rtol=RTOL / REFINE_FULL, atol=ATOL / REFINE_FULL)
    red = solve_flow(flow, init.M0, t_max=t_max, d=D, n_save=N_SAVE, rtol=RTOL_RED, atol=ATOL_RED)
    red_ref = solve_flow(flow, init.M0, t_max=t_max, d=D, n_save=N_SAVE, rtol=RTOL_RED / REFINE_RED,
                         atol=ATOL_RED / REFINE_RED)
    red_ref2 = solve_flow(flow, init.M0, t_max=t_max, d=D, n_save=N_SAVE, rtol=RTOL_RED / REFINE_RED**2,
                          atol=ATOL_RED / REFINE_RED**2)
    return flow, init, full, full_ref, red, red_ref, red_ref2


# Each case compiles three solvers (~5-14 s). By default one case per flow and per rank runs
# (planted r = 2, two escapes; two-timescale r = 1); --runslow runs all four.
DEFAULT = ("planted-r2", "two-timescale-r1")
PARAMS = [c if c in DEFAULT else pytest.param(c, marks=pytest.mark.slow) for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_reduced_flow_matches_full_flow_from_the_same_initial_condition(case):
    flow, init, full, full_ref, red, red_ref, red_ref2 = _run(case)
    assert np.array_equal(red.t, full.trajectory.t)
    assert np.array_equal(red.M[0, 0], full.trajectory.M[0, 0])  # the same initial condition, bitwise
    # the runs do go through an escape: the top singular value leaves the saddle (~ d^-1/2) and passes 0.9
    sv = full.trajectory.singular_values[0, :, 0]
    assert sv[0] < 0.2 and sv[-1] > 0.9
    diff = float(np.max(np.abs(red.M - full.trajectory.M)))
    e_red = float(np.max(np.abs(red.M - red_ref.M)))
    rho = float(np.max(np.abs(red_ref.M - red_ref2.M))) / e_red
    assert rho < 0.5, rho  # the reduced solver converges as its tolerance shrinks
    e_full = float(np.max(np.abs(full.trajectory.M - full_ref.trajectory.M)))
    bound = e_red / (1.0 - rho) + FACTOR_FULL * e_full + 1e-13
    assert diff <= bound, (diff, e_red, e_full)
    assert diff < 1e-5  # and the bound itself is small at these tolerances
    # the tighter pair agrees better still (the difference is integration error, not a modelling error):
    # expected ratio ~ 10^(-2/3) = 0.22 when the reduced error dominates
    assert float(np.max(np.abs(red_ref.M - full_ref.trajectory.M))) < 0.5 * diff + 1e-12


@pytest.mark.parametrize("case", PARAMS)
def test_constraint_drift_is_integration_error(case):
    _, _, full, full_ref, _, _, _ = _run(case)
    assert full.defect[0] < 1e-14
    # no retraction: the exact flow keeps W^T W = I, the integrator drifts by about its own error
    assert full.max_defect < 1e-6
    assert full_ref.max_defect < 0.1 * full.max_defect + 1e-14


def test_polar_retraction_option():
    flow, init, full, full_ref, _, _, _ = _run("planted-r2")
    polar = solve_full_flow(flow, init.W_star, init.W0, save_times=full.trajectory.t, rtol=RTOL, atol=ATOL,
                            retraction="polar")
    e_full = float(np.max(np.abs(full.trajectory.M - full_ref.trajectory.M)))
    # re-orthonormalising at the save points changes the path by about the integration error
    assert float(np.max(np.abs(polar.trajectory.M - full_ref.trajectory.M))) <= 2.1 * e_full + 1e-13
    assert polar.max_defect < full.max_defect
    W = polar.W_final
    assert float(np.max(np.abs(W.T @ W - np.eye(W.shape[1])))) < 1e-14


def test_lift_of_given_overlaps():
    flow = make_flow("planted", multivariate_spectrum("h3(z1) + h3(z2)", 3))
    M0 = np.array([[0.1, -0.2], [0.05, 0.3]])
    init = full_flow_from_overlaps(flow, 50, M0, key=jax.random.PRNGKey(1))
    assert init.W0.shape == (50, 2) and init.W_star.shape == (50, 2)
    np.testing.assert_array_equal(init.W_star.T @ init.W0, M0)
    np.testing.assert_allclose(init.W0.T @ init.W0, np.eye(2), atol=1e-14)


def test_bad_input():
    flow = make_flow("planted", multivariate_spectrum("h3(z1) + h3(z2)", 3))
    init = full_flow_from_overlaps(flow, 20, key=jax.random.PRNGKey(0))
    ts = save_times(1.0, 5)
    with pytest.raises(MimflowError, match="orthonormal"):
        solve_full_flow(flow, init.W_star, 2.0 * init.W0, save_times=ts)
    with pytest.raises(MimflowError, match="rank"):
        solve_full_flow(flow, init.W_star, init.W0[:, :1], save_times=ts)
    with pytest.raises(MimflowError, match="save_times"):
        solve_full_flow(flow, init.W_star, init.W0, save_times=ts[1:])
    with pytest.raises(MimflowError, match="retraction"):
        solve_full_flow(flow, init.W_star, init.W0, save_times=ts, retraction="qr")
    with pytest.raises(MimflowError, match="too small"):
        full_flow_from_overlaps(flow, 3, key=jax.random.PRNGKey(0))
    with pytest.raises(MimflowError, match="operator norm"):
        full_flow_from_overlaps(flow, 20, np.eye(2), key=jax.random.PRNGKey(0))
