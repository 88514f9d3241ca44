"""Population flows: solver cross-checks, invariants, reproducibility, bad input, the flow command."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mimflow import MimflowError
from mimflow.dynamics import (
    haar_overlaps_batch,
    make_flow,
    planted_flow,
    solve_flow,
    two_timescale_flow,
)
from mimflow.dynamics._polynomial import correlation_polynomial
from mimflow.hermite import MultivariateSpectrum, make_averaging_correlation, multi_indices
from mimflow.targets import make_link, multivariate_spectrum
from helpers import run_cli


def spectrum(expr, K):
    link = make_link(expr)
    return link.spectrum(K) if link.r == 1 else multivariate_spectrum(link, K)


@pytest.mark.parametrize("expr, K", [("h2(z1) + h3(z2)", 4), ("tanh(z1 + z2*z3)", 5), ("relu(z1)*sign(z2)", 6),
                                     ("z1 + z1*z2 + z1*z2*z3", 3)])
def test_overlap_polynomial_matches_tensor_route(expr, K):
    """Two independent routes to <A_N f, f>: contingency-table polynomial vs tensor contraction."""
    s = multivariate_spectrum(make_link(expr), K)
    poly = correlation_polynomial(s, s)
    tensor = make_averaging_correlation(s, s)
    rng = np.random.default_rng(1)
    for _ in range(3):
        N = rng.normal(size=(s.r, s.r)) * 0.4
        assert float(poly(jnp.asarray(N))) == pytest.approx(float(tensor(N)), rel=1e-12, abs=1e-14)
    g_poly = jax.grad(poly)(jnp.asarray(N))
    g_tensor = jax.grad(tensor)(jnp.asarray(N))
    np.testing.assert_allclose(g_poly, g_tensor, rtol=1e-10, atol=1e-13)


def test_single_index_vector_field_matches_math_md():
    """docs/math/grassmannian-flow.md §1.4: two-timescale m' = (1 - m^2) sum_k k alpha_k^2 m^(2k-1); planted m' = (1-m^2) sum k a_k^2 m^(k-1)."""
    spec = make_link("relu").spectrum(12)
    a2 = np.asarray(spec.coefficients) ** 2
    ks = np.arange(13)
    for m in (0.1, 0.5, 0.9):
        fast = two_timescale_flow(spec).vector_field(jnp.array([[m]]))[0, 0]
        planted = planted_flow(spec).vector_field(jnp.array([[m]]))[0, 0]
        expect_fast = (1 - m * m) * np.sum((ks * a2 * m ** (2 * ks - 1.0))[1:])
        expect_planted = (1 - m * m) * np.sum((ks * a2 * m ** (ks - 1.0))[1:])
        assert float(fast) == pytest.approx(expect_fast, rel=1e-12)
        assert float(planted) == pytest.approx(expect_planted, rel=1e-12)


def _random_link_spectrum(rng, r, K):
    """A random multivariate spectrum (dense, decaying) for invariant tests."""
    betas = multi_indices(r, K)
    values = rng.normal(size=len(betas)) * 0.6 ** betas.sum(axis=1)
    return MultivariateSpectrum(r, K, betas, values, float(np.sum(values**2)), 0.0, "random")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_eigenvalues_of_G_never_decrease(seed):
    """Along the two-timescale flow every eigenvalue of G = M M^T is non-decreasing.

    Proof: G' = (I - G) Q G + G Q (I - G) with Q = d<A_G f, f>/dG symmetric PSD (each degree
    contributes k S_(1) (I x G^(k-1)) S_(1)^T), so for a unit eigenvector u of G with eigenvalue
    lambda, lambda' = u^T G' u = 2 lambda (1 - lambda) u^T Q u >= 0. Checked on random dense links.
    """
    rng = np.random.default_rng(seed)
    spec = _random_link_spectrum(rng, 2 + seed % 2, 4)
    flow = two_timescale_flow(spec)
    r = spec.r
    traj = solve_flow(flow, haar_overlaps_batch(200, r, r, [seed]), t_max=1e6, d=200, rtol=1e-10, atol=1e-14,
                      n_save=300)
    eig = np.linalg.eigvalsh(traj.G[0])  # (T, r), ascending
    assert eig[-1, -1] > 0.99  # the run went somewhere
    # decreases only at the level of the solver's local error (rtol 1e-10)
    assert np.min(np.diff(eig, axis=0)) > -1e-8


def test_G_is_not_monotone_in_the_loewner_order():
    """The stronger claim 'G(t) non-decreasing in the Loewner order' is false: after the first
    escape of h2(z1) + h3(z2), G = [[~1, g], [g, x]] and the flow sends the cross-overlap g -> 0,
    so G' has a zero diagonal entry and a non-zero off-diagonal one, hence a negative eigenvalue."""
    flow = two_timescale_flow(spectrum("h2(z1) + h3(z2)", 3))
    M = jnp.array([[1.0 - 1e-9, 0.0], [0.03, 0.02]])  # v1 learned, v2 weakly correlated with the same column
    dM = flow.vector_field(M)
    Gdot = np.asarray(dM @ M.T + M @ dM.T)
    assert np.linalg.eigvalsh(Gdot)[0] < -1e-4 * np.abs(Gdot).max()


def test_rosenbrock_matches_kvaerno5_and_lsoda():
    """Our batched Rosenbrock solver vs diffrax Kvaerno5 and scipy LSODA on the same ODE."""
    from scipy.integrate import solve_ivp

    flow = two_timescale_flow(spectrum("h2(z1) + h3(z2)", 3))
    M0 = np.asarray(haar_overlaps_batch(100, 2, 2, [3]))
    ours = solve_flow(flow, M0, t_max=2e4, d=100, rtol=1e-10, atol=1e-14, n_save=60)
    kv = solve_flow(flow, M0, t_max=2e4, d=100, rtol=1e-10, atol=1e-14, n_save=60, solver="kvaerno5")
    f = jax.jit(flow.flat_vector_field)
    ref = solve_ivp(lambda t, y: np.asarray(f(jnp.asarray(y))), (0, ours.t[-1]), M0[0].reshape(-1),
                    method="LSODA", rtol=1e-11, atol=1e-14, t_eval=ours.t)
    np.testing.assert_allclose(ours.M[0], kv.M[0], atol=2e-6)
    np.testing.assert_allclose(ours.M[0].reshape(len(ours.t), -1), ref.y.T, atol=2e-6)


def test_batch_equals_single_and_is_reproducible():
    flow = two_timescale_flow(spectrum("h2(z1) + h3(z2)", 3))
    M0 = np.asarray(haar_overlaps_batch(300, 2, 2, range(4)))
    batch = solve_flow(flow, M0, t_max=1e6, d=300)
    again = solve_flow(flow, np.asarray(haar_overlaps_batch(300, 2, 2, range(4))), t_max=1e6, d=300)
    np.testing.assert_array_equal(batch.M, again.M)
    for i in range(4):
        single = solve_flow(flow, M0[i:i + 1], t_max=1e6, d=300)
        np.testing.assert_allclose(single.M[0], batch.M[i], rtol=0, atol=1e-13)


def test_lanes_give_each_seed_its_lockstep_result_and_fd_jacobian_is_within_tolerance():
    """The work queue of the batched solver (issue 17): seeds solved in 3 lanes (refilled as they finish)
    give exactly the numbers of the lockstep batch (lanes = all seeds), and the forward-difference
    Jacobian (option jacobian="fd") changes the overlaps only at the solver tolerance against jax.jacfwd."""
    from functools import partial

    from mimflow.dynamics import save_times
    from mimflow.dynamics._rosenbrock import rosenbrock_solve_batch

    flow = two_timescale_flow(spectrum("h2(z1) + h3(z2)", 3))
    y0 = jnp.asarray(np.asarray(haar_overlaps_batch(1000, 2, 2, range(8))).reshape(8, -1))
    ts = jnp.asarray(save_times(1e7, 80)[1:])
    stop = 1e-10 * float(np.sum(flow.spectrum.values[1:] ** 2))
    solve = partial(rosenbrock_solve_batch, flow.flat_vector_field, flow.flat_loss, rtol=1e-7, atol=1e-13,
                    stop_loss=stop)
    lock, st_lock = jax.jit(partial(solve, lanes=None))(y0, ts)
    lanes, st_lanes = jax.jit(partial(solve, lanes=3))(y0, ts)
    np.testing.assert_array_equal(np.asarray(lanes), np.asarray(lock))
    np.testing.assert_array_equal(np.asarray(st_lanes.steps), np.asarray(st_lock.steps))
    np.testing.assert_array_equal(np.asarray(st_lanes.status), np.asarray(st_lock.status))
    assert np.sum(np.asarray(st_lock.status) == 1) >= 6  # most converged before t = 1e7
    fd, _ = jax.jit(partial(solve, lanes=None, jacobian="fd"))(y0, ts)
    assert np.max(np.abs(np.asarray(fd) - np.asarray(lock))) < 1e-5


def test_student_rank_larger_and_smaller():
    spec = spectrum("h2(z1) + h3(z2)", 3)
    wide = solve_flow(two_timescale_flow(spec, student_rank=3), haar_overlaps_batch(300, 2, 3, [0]), t_max=1e7, d=300)
    assert wide.M.shape[-2:] == (2, 3) and wide.converged[0]
    np.testing.assert_allclose(wide.singular_values[0, -1], [1.0, 1.0], atol=1e-5)
    narrow = solve_flow(two_timescale_flow(spec, student_rank=1), haar_overlaps_batch(300, 2, 1, [0]), t_max=1e7, d=300)
    # one student direction: it learns the easier (degree-2) direction and the loss stays at b^2/2 = 1/2
    assert narrow.loss[0, -1] == pytest.approx(0.5, abs=1e-6)


def test_bad_input():
    spec = spectrum("h2(z1) + h3(z2)", 3)
    with pytest.raises(MimflowError, match="student rank must be r"):
        planted_flow(spec, student_rank=3)
    with pytest.raises(MimflowError, match="d = 3 is too small"):
        haar_overlaps_batch(3, 2, 2, [0])
    with pytest.raises(MimflowError, match="t-max"):
        solve_flow(two_timescale_flow(spec), haar_overlaps_batch(100, 2, 2, [0]), t_max=-1.0, d=100)
    bad = MultivariateSpectrum(1, 2, multi_indices(1, 2), np.array([0.0, np.nan, 1.0]), 1.0, 0.0, "x")
    with pytest.raises(MimflowError, match="not finite"):
        two_timescale_flow(bad)
    with pytest.raises(MimflowError, match="constant"):
        two_timescale_flow(MultivariateSpectrum(1, 1, multi_indices(1, 1), np.array([1.0, 0.0]), 1.0, 0.0, "c"))
    with pytest.raises(MimflowError, match="unknown algorithm"):
        make_flow("fast", spec)
    with pytest.raises(MimflowError, match="ridge"):
        make_flow("planted", spec, ridge=0.1)


def test_ridge_slows_the_escape_by_the_shrinkage():
    """docs/math/finite-sample.md §1.8: ridge mu replaces alpha_k^2 by alpha_k^2 q_k/(q_k+mu); the s = 2 escape time scales by (q+mu)/q."""
    spec = spectrum("h2", 4)
    M0 = np.array([[[1e-2]]])
    plain = solve_flow(two_timescale_flow(spec), M0, t_max=1e7, d=10_000, n_save=2000, rtol=1e-10)
    ridge = solve_flow(two_timescale_flow(spec, ridge=0.25), M0, t_max=1e7, d=10_000, n_save=2000, rtol=1e-10)
    from mimflow.dynamics import direction_escape_times

    ratio = direction_escape_times(ridge)[0, 0] / direction_escape_times(plain)[0, 0]
    q = 0.5**2
    assert ratio == pytest.approx((q + 0.25) / q, rel=2e-3)  # interpolation error of the crossing time




def test_flow_cli_json_and_store(tmp_path, capsys):
    code, out, err = run_cli(capsys, "flow", "h2(z1) + h3(z2)", "--d", "300,1000", "--seeds", "4", "--json",
                             "--out", str(tmp_path), "--plot", str(tmp_path / "flow.png"))
    assert code == 0, err
    data = json.loads(out)
    assert len(data["runs"]) == 8
    run = data["runs"][0]
    assert set(run) >= {"d", "seed", "escape_times", "final_singular_values", "converged", "end_point"}
    assert len(run["escape_times"]) == 2 and run["converged"] and run["end_point"] == "global minimum"
    assert set(data["predicted_escape_times"]) == {"300", "1000"}
    assert [s["saddle"] for s in data["escape_time_slopes"]] == [0, 1]
    assert (tmp_path / "flow.png").stat().st_size > 10_000
    import xarray as xr

    stored = [p for p in tmp_path.iterdir() if (p / "data.nc").exists()]
    assert len(stored) == 1
    with xr.open_dataset(stored[0] / "data.nc") as ds:
        assert ds["M"].dims == ("d", "seed", "t", "i", "j")
        assert not np.any(np.isnan(ds["escape_time"].values))
    # the same command again reuses the stored run and prints identical numbers
    code2, out2, _ = run_cli(capsys, "flow", "h2(z1) + h3(z2)", "--d", "300,1000", "--seeds", "4", "--json",
                             "--out", str(tmp_path))
    again = json.loads(out2)
    assert again["reused"] is True and again["runs"] == data["runs"]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["flow", "h2(z1)+h3(z2)", "--d", "3"], "too small"),
        (["flow", "h2", "--t-max", "0"], "t_max"),
        (["flow", "h2(z1)+h3(z2)", "--algorithm", "planted", "--rank", "3"], "student rank must be r"),
        (["flow", "relux"], "known links"),
        (["flow", "h2", "--algorithm", "fast"], "algorithm"),
        (["flow", "z1*z2*z3*z4*z5"], "r <= 4"),
        (["flow", "h2", "--seeds", "0"], "seed count"),
    ],
)
def test_flow_cli_errors(capsys, args, fragment):
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert fragment in err


@pytest.mark.parametrize("link", ["h2", "h3", "h4"])
@pytest.mark.parametrize("algorithm", ["two-timescale", "planted"])
def test_refined_escape_times_match_exact_integral(link, algorithm):
    """With the default coarse save grid, refined crossings match the exact single-index escape time
    (1-D quadrature of dm / v(m), theory) to the solver tolerance, while the grid alone errs 1-7 %."""
    from mimflow.dynamics import direction_escape_times
    from mimflow.theory import single_index_escape_time

    spec = make_link(link).spectrum(6)
    flow = make_flow(algorithm, spec)
    d = 10_000
    traj = solve_flow(flow, np.array([[[d**-0.5]]]), t_max=1e14, d=d, n_save=200, rtol=1e-7)
    exact = single_index_escape_time(spec, algorithm=algorithm, m0=d**-0.5)
    refined = direction_escape_times(traj, flow=flow)[0, 0]
    # rtol 1e-7 per step; the escape amplifies the local errors ~1e3-fold (measured 1e-5..2e-4)
    assert refined == pytest.approx(exact, rel=5e-4)


def test_sweep_flow_over_ridge_and_export_one_axis(tmp_path, capsys):
    """A flow sweep with one task axis (ridge; d and seeds vmapped) stores, lists and exports over its axes.

    The ridge multiplies the s = 2 escape time by (q_2 + mu)/q_2 = 3 for q_2 = 0.5^2, mu = 0.5 (docs/math/finite-sample.md §1.8).
    """
    import xarray as xr

    code, out, err = run_cli(capsys, "sweep", "flow", "h2", "--d", "100,1000", "--seeds", "4", "--ridge", "0,0.5",
                             "--out", str(tmp_path / "runs"), "--local", "0")
    assert code == 0, err
    code, out, err = run_cli(capsys, "results", "export", str(tmp_path / "runs"), "--to", str(tmp_path / "all.nc"))
    assert code == 0, err
    with xr.open_dataset(tmp_path / "all.nc") as ds:
        assert ds["escape_time"].dims == ("ridge", "d", "seed", "saddle")
        ratio = ds["escape_time"].sel(ridge=0.5) / ds["escape_time"].sel(ridge=0.0)
        np.testing.assert_allclose(ratio.values, 3.0, rtol=2e-3)  # initial overlaps are identical across ridge
