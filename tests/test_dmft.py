"""GD in the proportional regime and its DMFT (docs/math/dmft.md §3.2-3.4; issue 7 sections 2-4).

Anchors outside the DMFT code: the exact ridge-regression GD trajectory through the Marchenko-Pastur
spectrum (square loss), finite-d simulations (Wirtinger flow, spectral and independent starts), the
stationary equations against long GD runs, and closed-form Gaussian moments. Tolerances are 5
combined standard errors.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import run_cli

from mimflow import MimflowError
from mimflow.proportional import (
    make_loss,
    make_problem,
    ridge_gd_trajectory,
    simulate_gd,
    solve_dmft,
    solve_fixed_point,
    test_error,
)
from mimflow.proportional._dmft_convergence import long_time_diagnostic

Z = 5.0


def _zmax(a, a_se, b, b_se):
    return float(np.max(np.abs(a - b) / np.sqrt(a_se**2 + b_se**2)))


# ----------------------------------------------------------------------------- losses and observables


def test_losses_derivatives_match_closed_forms():
    r, y = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -0.7])
    wf = make_loss("wirtinger")
    expr = make_loss("(r**2 - y)**2/4")  # the same loss through the grammar and jax.grad
    for loss in (wf, expr):
        np.testing.assert_allclose(loss.value(r, y), (r**2 - y) ** 2 / 4, rtol=1e-13)
        np.testing.assert_allclose(loss.d1(r, y), (r**2 - y) * r, rtol=1e-13)
        np.testing.assert_allclose(loss.d2(r, y), 3 * r**2 - y, rtol=1e-13)
        np.testing.assert_allclose(loss.dy1(r, y), -r, rtol=1e-13)
    logistic = make_loss("logistic")
    np.testing.assert_allclose(logistic.d1(r, y), -y / (1 + np.exp(y * r)), rtol=1e-12)


def test_wirtinger_test_error_closed_form():
    # y = z^2, r = m z + sqrt(q - m^2) xi: E(r^2 - z^2)^2 / 4 = (3 q^2 - 2 (q + 2 m^2) + 3) / 4
    p = make_problem("z**2", alpha=2.0, lr=0.1, init="random")
    m, q = np.array([0.0, 0.4, 0.9]), np.array([1.0, 0.5, 1.3])
    np.testing.assert_allclose(test_error(p, m, q), (3 * q**2 - 2 * q - 4 * m**2 + 3) / 4, rtol=1e-12)


def test_internal_rescaling_is_documented_convention():
    p = make_problem("z**2", alpha=4.0, lr=0.2, ridge=0.01, init="random")
    assert (p.eta, p.lam) == (0.2 / 4.0, 0.04)


@pytest.mark.parametrize("kwargs, field", [
    (dict(alpha=-1.0), "alpha"), (dict(lr=0.0), "lr"), (dict(ridge=-0.1), "ridge"), (dict(noise=-1.0), "noise"),
    (dict(init="warm:1.5"), "warm"), (dict(init="sideways"), "init"), (dict(loss="r**2 + q"), "loss"),
    (dict(loss="hinge"), "loss"), (dict(link="z1*z2"), "single-index"),
    (dict(preprocess="nonsense_name"), "preprocessing"),
])
def test_bad_inputs_name_the_field(kwargs, field):
    base = dict(link="z**2", alpha=4.0, lr=0.1)
    base.update(kwargs)
    link = base.pop("link")
    with pytest.raises(MimflowError, match=field):
        make_problem(link, **base)


def test_dmft_refuses_bad_paths_and_unbounded_preprocessing():
    p = make_problem("z**2", alpha=4.0, lr=0.1, init="random")
    with pytest.raises(MimflowError, match="batches"):
        solve_dmft(p, 3, paths=1000, batches=1)
    with pytest.raises(MimflowError, match="multiple"):
        solve_dmft(p, 3, paths=1001, batches=10)
    q = make_problem("z**2", alpha=4.0, lr=0.1, init="spectral", preprocess="optimal")
    with pytest.raises(MimflowError, match="clip|bounded"):
        solve_dmft(q, 3, paths=1000, batches=10)


# ----------------------------------------------------------------------------- square loss: closed form


def test_ridge_dmft_matches_marchenko_pastur_closed_form():
    """Square loss, linear link with noise: the DMFT vs the exact GD trajectory (docs/math/dmft.md §3.3 vs MP)."""
    alpha, sigma = 2.0, 0.5
    p = make_problem("z", alpha=alpha, lr=0.5, ridge=0.05, loss="square", noise=sigma, init="warm:0.3")
    T = 20
    sol = solve_dmft(p, T, paths=10000, batches=10, seed=1)
    cf = ridge_gd_trajectory(alpha, p.eta, p.lam, T, mu1=1.0, sigma_e2=sigma**2, m0=0.3, q0=1.0)
    # l'' = 1: responses and nu are deterministic, so the overlap is exact
    np.testing.assert_allclose(sol.overlap, cf["overlap"], atol=1e-10)
    for name in ("norm2", "train_error"):
        se = getattr(sol, name + "_se")[1:]
        assert np.all(se > 0) and np.all(se < 0.02)  # genuine Monte Carlo error bars, not degenerate
        z = np.abs(getattr(sol, name)[1:] - cf[name][1:]) / se
        assert z.max() < Z, (name, z.max())


@pytest.mark.slow
def test_ridge_dmft_nonlinear_link_matches_closed_form_with_effective_noise():
    """relu link under the square loss: y - mu1 z acts as noise of variance E f^2 - mu1^2 (+ sigma^2);
    checks the pathwise nu through f' = 1[z > 0] against the Marchenko-Pastur trajectory."""
    alpha, sigma = 2.0, 0.3
    p = make_problem("relu(z)", alpha=alpha, lr=0.5, ridge=0.05, loss="square", noise=sigma, init="warm:0.3")
    sol = solve_dmft(p, 15, paths=20000, batches=10, seed=11)
    cf = ridge_gd_trajectory(alpha, p.eta, p.lam, 15, mu1=0.5, sigma_e2=0.5 - 0.25 + sigma**2, m0=0.3, q0=1.0)
    for name in ("overlap", "norm2"):
        z = np.abs(getattr(sol, name)[1:] - cf[name][1:]) / getattr(sol, name + "_se")[1:]
        assert z.max() < Z, (name, z.max())


def test_fixed_point_square_loss_is_the_ridge_limit():
    alpha, sigma = 2.0, 0.5
    p = make_problem("z", alpha=alpha, lr=0.5, ridge=0.05, loss="square", noise=sigma, init="random")
    fp = solve_fixed_point(p, n_nodes=40)
    cf = ridge_gd_trajectory(alpha, p.eta, p.lam, 4000, mu1=1.0, sigma_e2=sigma**2, m0=0.0, q0=1.0)
    assert fp.overlap == pytest.approx(cf["overlap"][-1], abs=1e-9)
    assert fp.norm2 == pytest.approx(cf["norm2"][-1], abs=1e-9)
    assert fp.train_error == pytest.approx(cf["train_error"][-1], abs=1e-9)


# ----------------------------------------------------------------------------- Wirtinger flow: DMFT vs GD


WF = dict(alpha=4.0, lr=0.1, ridge=0.01, loss="wirtinger")


def test_wirtinger_dmft_matches_simulation_independent_start():
    p = make_problem("z**2", init="warm:0.5", **WF)
    T = 15
    sol = solve_dmft(p, T, paths=10000, batches=10, seed=2)
    sim = simulate_gd(p, 800, T, range(4))
    for name in ("overlap", "norm2", "test_error"):
        mean, se = sim.mean_and_se(name)
        assert _zmax(getattr(sol, name)[1:], getattr(sol, name + "_se")[1:], mean[1:], se[1:]) < Z, name


@pytest.mark.slow(ci=True)
def test_wirtinger_dmft_spectral_start_matches_simulation_and_control_differs():
    """Spectral start through the power-iteration prefix (docs/math/dmft.md §3.3) vs finite-d GD from the top
    eigenvector; the independent warm start with the same initial overlap and norm must differ."""
    T = 12
    p = make_problem("z**2", init="spectral", preprocess="trimmed", **WF)
    sol = solve_dmft(p, T, paths=10000, batches=10, seed=3)
    assert sol.power_steps > 5 and abs(sol.power_residual) < 1e-8
    sim = simulate_gd(p, 1000, T, range(4))
    for name in ("overlap", "norm2", "test_error"):
        mean, se = sim.mean_and_se(name)
        assert _zmax(getattr(sol, name), getattr(sol, name + "_se"), mean, se) < Z, name
    m0, q0 = float(sol.overlap[0]), float(sol.norm2[0])
    control = make_problem("z**2", init=f"warm:{m0}", init_norm=float(np.sqrt(q0)), **WF)
    ctl = solve_dmft(control, T, paths=10000, batches=10, seed=4)
    assert ctl.overlap[0] == pytest.approx(m0, abs=1e-12)
    gap = _zmax(ctl.norm2, ctl.norm2_se, sol.norm2, sol.norm2_se)
    assert gap > 2 * Z, gap


@pytest.mark.slow
def test_wirtinger_dmft_spectral_start_large_d():
    T = 40
    p = make_problem("z**2", init="spectral", preprocess="trimmed", **WF)
    sol = solve_dmft(p, T, paths=100000, batches=10, seed=5)
    sim = simulate_gd(p, 4000, T, range(8))
    for name in ("overlap", "norm2", "train_error", "test_error"):
        mean, se = sim.mean_and_se(name)
        assert _zmax(getattr(sol, name), getattr(sol, name + "_se"), mean, se) < Z, name


@pytest.mark.slow(ci=True)
def test_fixed_point_matches_long_gd():
    p = make_problem("z**2", init="warm:0.5", **{**WF, "lr": 0.15})
    fp = solve_fixed_point(p, n_nodes=60)
    assert fp.converged
    sim = simulate_gd(p, 800, 400, range(4))
    for name, value in (("overlap", fp.overlap), ("norm2", fp.norm2)):
        mean, se = sim.mean_and_se(name)
        # converged runs: the seed spread is the finite-d fluctuation; allow 5 s.e. + O(1/d)
        assert abs(mean[-1] - value) < Z * se[-1] + 2.0 / 800, (name, mean[-1], value, se[-1])


@pytest.mark.slow
def test_fixed_point_matches_long_dmft():
    p = make_problem("z**2", init="warm:0.5", **{**WF, "lr": 0.15})
    fp = solve_fixed_point(p)
    sol = solve_dmft(p, 200, paths=20000, batches=10, seed=6)
    assert abs(sol.overlap[-1] - fp.overlap) < Z * sol.overlap_se[-1] + 1e-4
    assert abs(sol.norm2[-1] - fp.norm2) < Z * sol.norm2_se[-1] + 1e-4


# ----------------------------------------------------------------------------- determinism and the CLI


def test_same_seed_same_numbers():
    p = make_problem("z**2", init="random", **WF)
    a = solve_dmft(p, 3, paths=200, batches=10, seed=7)
    b = solve_dmft(p, 3, paths=200, batches=10, seed=7)
    np.testing.assert_array_equal(a.norm2, b.norm2)
    s1, s2 = simulate_gd(p, 50, 3, [1, 2]), simulate_gd(p, 50, 3, [1, 2])
    np.testing.assert_array_equal(s1.overlap, s2.overlap)


def test_cli_dmft_json_keys(capsys, tmp_path):
    import json

    code, out, err = run_cli(capsys, "dmft", "z**2", "--alpha", "4", "--lr", "0.1", "--ridge", "0.01", "--steps", "4",
                             "--init", "warm:0.5", "--paths", "1000", "--simulate", "100", "--seeds", "2", "--json",
                             "--plot", str(tmp_path / "dmft.png"))
    assert code == 0, err
    data = json.loads(out)
    for key in ("t", "overlap", "norm2", "train_error", "test_error", "simulated_overlap", "simulated_norm2",
                "simulated_train_error", "simulated_test_error"):
        assert len(data[key]) == 5, key
    assert set(data["fixed_point"]) >= {"overlap", "norm2"}
    assert set(data["long_time"]["overlap"]) >= {"value", "value_se", "rate", "drift", "drift_se", "converged",
                                                 "z_vs_fixed_point"}
    assert data["converged"] is False and any("settled" in w for w in data["warnings"])  # 4 steps: still moving
    assert (tmp_path / "dmft.png").stat().st_size > 0


@pytest.mark.parametrize("args, needle", [
    (["--init", "warm:2"], "init"), (["--loss", "r**2 + foo"], "loss"), (["--alpha", "-1"], "alpha"),
    (["--paths", "1005", "--batches", "10"], "paths"),
])
def test_cli_dmft_bad_input(capsys, args, needle):
    code, out, err = run_cli(capsys, "dmft", "z**2", "--steps", "2", *args)
    assert code == 2
    assert needle in err and "Traceback" not in err


# ----------------------------------------------------------------------------- links with jumps: nu by Stein


@pytest.mark.slow(ci=True)
def test_stein_and_pathwise_nu_agree_for_a_smooth_link():
    p = make_problem("z**2", init="warm:0.5", **WF)
    a = solve_dmft(p, 8, paths=5000, batches=10, nu_estimator="stein", seed=8)
    b = solve_dmft(p, 8, paths=5000, batches=10, nu_estimator="pathwise", seed=9)
    for name in ("overlap", "norm2"):
        assert _zmax(getattr(a, name)[1:], getattr(a, name + "_se")[1:],
                     getattr(b, name)[1:], getattr(b, name + "_se")[1:]) < Z, name


@pytest.mark.slow
def test_sign_link_logistic_dmft_matches_simulation():
    p = make_problem("sign(z)", alpha=3.0, lr=0.5, ridge=0.01, loss="logistic", init="warm:0.3")
    sol = solve_dmft(p, 12, paths=20000, batches=10, seed=10)
    sim = simulate_gd(p, 2000, 12, range(6))
    for name in ("overlap", "norm2", "test_error"):
        mean, se = sim.mean_and_se(name)
        assert _zmax(getattr(sol, name)[1:], getattr(sol, name + "_se")[1:], mean[1:], se[1:]) < Z, name


def test_theory_does_not_import_the_simulation():
    """The DMFT, the fixed point and the ridge closed form stay independent checks of the simulation."""
    import inspect

    from mimflow.proportional import _dmft, _fixed_point, _ridge_closed_form

    for module in (_dmft, _fixed_point, _ridge_closed_form):
        imports = [line for line in inspect.getsource(module).splitlines() if line.strip().startswith(("from ", "import "))]
        assert not any("_gd" in line.split("#")[0] or "simulate_gd" in line for line in imports), module.__name__


# ----------------------------------------------------------------------------- issue 12 item 5: warm:M is <w0, w*>


def test_warm_start_overlap_is_the_inner_product_not_the_cosine():
    """``--init warm:M --init-norm N`` starts at <w^0, w*> = M (the printed ``overlap``), ||w^0|| = N,
    in the DMFT and in the finite-d simulation alike (issue 12 item 5: ``warm:0.7`` with norm 0.86023
    used to start at 0.7 * 0.86023 = 0.602)."""
    p = make_problem("z**2", init="warm:0.7", init_norm=0.86023, **WF)
    sol = solve_dmft(p, 1, paths=200, batches=2, seed=0)
    assert sol.overlap[0] == pytest.approx(0.7, abs=1e-12)
    assert sol.norm2[0] == pytest.approx(0.86023**2, abs=1e-12)
    sim = simulate_gd(p, 50, 1, [0, 1])
    np.testing.assert_allclose(sim.overlap[:, 0], 0.7, atol=1e-12)
    np.testing.assert_allclose(sim.norm2[:, 0], 0.86023**2, atol=1e-12)


@pytest.mark.parametrize("init, norm", [("warm:0.9", 0.8), ("warm:-1.2", 1.0)])
def test_warm_start_refuses_overlap_above_the_norm(init, norm):
    with pytest.raises(MimflowError, match="warm"):
        make_problem("z**2", init=init, init_norm=norm, **WF)


def test_cli_warm_start_above_norm_is_one_line(capsys):
    code, out, err = run_cli(capsys, "dmft", "z**2", "--steps", "2", "--init", "warm:0.7", "--init-norm", "0.5")
    assert code == 2 and "warm" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- issue 12 item 8: long-time behaviour


def test_long_time_diagnostic_recovers_rate_and_limit_of_synthetic_batches():
    """x_b(t) = x_inf + c e^{-gamma t} + (per-batch offset ~ N(0, s^2)): the fitted rate is gamma, the
    extrapolated limit is x_inf within its s.e.; the curve is flagged as not settled until
    c e^{-gamma T} falls below its error bar (anchored to the construction, not to the DMFT)."""
    rng = np.random.default_rng(0)
    gamma, x_inf, c, s = 0.03, 0.98, -0.2, 1e-4
    t = np.arange(101)
    batches = x_inf + c * np.exp(-gamma * t)[None, :] + s * rng.standard_normal((10, 1)) * (1 - 0.5 * np.exp(-0.01 * t))
    lt = long_time_diagnostic(batches)
    assert not lt.converged  # c e^{-3} = 1e-2, 300 s.e. away
    assert abs(lt.rate - gamma) < 0.05 * gamma
    assert abs(lt.value - x_inf) < Z * lt.value_se + 1e-6
    assert abs(lt.drift - (c * (np.exp(-gamma * 100) - np.exp(-gamma * 90)))) < Z * lt.drift_se + 1e-9
    settled = long_time_diagnostic(batches[:, :1] * 0 + x_inf + s * rng.standard_normal((10, 101)) * 0.01
                                   + s * rng.standard_normal((10, 1)))
    assert settled.converged and settled.rate is None


def test_long_time_dmft_square_loss_is_the_ridge_estimator():
    """Square loss, linear link with noise: GD converges to the ridge estimator, whose overlap and norm
    are the t -> infinity limit of the exact Marchenko-Pastur trajectory (docs/math/dmft.md §3.4); the
    fixed-point solver and the long-time DMFT (150 steps, rate eta (lambda + (1 - sqrt(alpha))^2) ~ 0.07
    per step, so settled) must both give it."""
    alpha, sigma = 2.0, 0.5
    p = make_problem("z", alpha=alpha, lr=0.5, ridge=0.05, loss="square", noise=sigma, init="warm:0.3")
    cf = ridge_gd_trajectory(alpha, p.eta, p.lam, 5000, mu1=1.0, sigma_e2=sigma**2, m0=0.3, q0=1.0)
    limit = {"overlap": cf["overlap"][-1], "norm2": cf["norm2"][-1]}
    fp = solve_fixed_point(p, n_nodes=40)
    assert fp.overlap == pytest.approx(limit["overlap"], abs=1e-9)
    assert fp.norm2 == pytest.approx(limit["norm2"], abs=1e-9)
    T = 150
    sol = solve_dmft(p, T, paths=10000, batches=10, seed=12)
    for name in ("overlap", "norm2"):
        lt = sol.long_time[name]
        assert lt.converged, (name, lt)
        # the exact trajectory at step T (the DMFT's own error) and the exact limit (what remains of the
        # transient, ~6e-8 in overlap, is the allowance of the extrapolation: it may not do worse)
        assert abs(getattr(sol, name)[-1] - cf[name][T]) <= Z * getattr(sol, name + "_se")[-1] + 1e-9, name
        remaining = abs(cf[name][T] - limit[name])
        assert abs(lt.value - limit[name]) <= Z * lt.value_se + remaining + 1e-12, (name, lt.value, limit[name])


def test_short_square_loss_run_is_flagged_and_extrapolated():
    """After 25 steps the ridge GD is still moving (remaining change ~ e^{-1.7}): not settled, and the
    extrapolated limit is closer to the exact one than the last step."""
    alpha, sigma = 2.0, 0.5
    p = make_problem("z", alpha=alpha, lr=0.5, ridge=0.05, loss="square", noise=sigma, init="warm:0.3")
    cf = ridge_gd_trajectory(alpha, p.eta, p.lam, 5000, mu1=1.0, sigma_e2=sigma**2, m0=0.3, q0=1.0)
    sol = solve_dmft(p, 25, paths=2000, batches=10, seed=13)
    lt = sol.long_time["overlap"]
    assert not lt.converged and lt.rate is not None
    assert abs(lt.value - cf["overlap"][-1]) < 0.5 * abs(sol.overlap[-1] - cf["overlap"][-1])


def test_square_root_sampler_reproduces_converging_covariance():
    """docs/math/dmft.md §3.3.1: the Gram-Schmidt factor of a converging sequence g^s = g_inf + e^{-0.3 s} eta_s
    (innovation variances down to ~1e-16 of |g|^2, below any eigenvalue cutoff of the covariance) rebuilds
    the Gram matrix, and w^k of sample_w has the variance of the theta side, also for the increment
    w^k - w^{k-1} whose variance is ~1e-10 of that of w^k (the regression with a cutoff replaced it by noise)."""
    import jax.numpy as jnp

    from mimflow.proportional._dmft_sampling import gram_schmidt_row, sample_w

    rng = np.random.default_rng(0)
    T, N, alpha, M = 48, 300, 2.0, 40000
    G = rng.standard_normal(N)[None, :] + np.exp(-0.3 * np.arange(T))[:, None] * rng.standard_normal((T, N))
    Q, L = jnp.zeros((T, N)), np.zeros((T, T))
    for k in range(T):
        Q, row = gram_schmidt_row(Q, jnp.asarray(G[k]), k)
        L[k] = np.asarray(row)
    Q = np.asarray(Q)
    kept = np.abs(np.diag(L)) > 0
    np.testing.assert_allclose(Q[kept] @ Q[kept].T, np.eye(kept.sum()), atol=1e-13)
    np.testing.assert_allclose(L @ L.T, G @ G.T, rtol=0, atol=1e-12 * N)
    np.testing.assert_allclose(L @ Q, G, rtol=0, atol=1e-12)
    # R_theta of a converging GD-like recursion, m and A arbitrary; M independent feature draws
    R = np.tril(0.05 * np.exp(-0.3 * np.subtract.outer(np.arange(T), np.arange(T))), -1)
    m, A, c_zeta = 0.9 * (1 - np.exp(-0.2 * np.arange(T))), np.exp(-0.3 * np.arange(T)), 0.4
    feats = jnp.asarray(rng.standard_normal((T + 1, M)))  # row 0 r*, row 1 + j xi_j
    zeta = jnp.asarray(rng.standard_normal(M))
    # sample_w scales by sqrt(alpha / paths) with paths = M here, the g-factor was built on N paths
    w = np.stack([np.asarray(sample_w(feats, zeta, m[k], A[k], jnp.asarray(R[k]), jnp.asarray(L), alpha * M / N, c_zeta))
                  for k in range(T)])
    for k in (T - 1,):
        dR, dm, dA = R[k] - R[k - 1], m[k] - m[k - 1], A[k] - A[k - 1]
        var_inc = dm**2 + c_zeta**2 * dA**2 + alpha / N * np.sum((dR @ L) ** 2)  # factor form: no cancellation
        var = m[k] ** 2 + c_zeta**2 * A[k] ** 2 + alpha / N * np.sum((R[k] @ L) ** 2)
        assert var_inc < 1e-9 * var
        for v, emp in ((var, np.mean(w[k] ** 2)), (var_inc, np.mean((w[k] - w[k - 1]) ** 2))):
            assert abs(emp / v - 1) < Z * np.sqrt(2 / M), (k, emp, v)
        assert abs(np.mean(w[k] * np.asarray(feats[0])) - m[k]) < Z * np.sqrt((var + m[k] ** 2) / M)


@pytest.mark.slow
def test_issue12_item8_long_time_dmft_is_the_fixed_point():
    """The problem of issue 12 item 8: the long-time DMFT (400 steps after the spectral prefix, settled by
    the diagnostic) must equal the fixed point, which GD run to convergence at d = 1000, 2000, 4000 and
    extrapolated in 1/d confirms (0.98606 +- 0.00082 against 0.98615, norm2 z = +0.7). It failed (z = +5.3 in overlap)
    while the r-side was sampled by regression on the past with an eigenvalue cutoff, whose noise floor
    biased the limit upward; the square-root sampler (docs/math/dmft.md §3.3.1) has no cutoff. Four seeds
    gave overlap +4.0, +1.35, +0.6, +0.2 s.e. (the last is this test's seed_key(0)) and norm2 +4.6, +1.5,
    +0.7, +0.6 s.e. above the fixed point (BENCHMARKS.md,
    issue 12 item 8: over nine runs the long-time DMFT stays ~1e-3 above the fixed point and GD, z ~ 3, not
    N-dependent, cause open), so this 5 s.e. test is not a sharp one."""
    p = make_problem("z**2", alpha=4.0, lr=0.05, ridge=0.025, noise=0.3, init="spectral", preprocess="optimal", clip=1.0)
    fp = solve_fixed_point(p)
    sol = solve_dmft(p, 400, paths=20000, batches=10, seed=0)
    lt = sol.long_time["overlap"]
    assert lt.converged
    assert abs(lt.value - fp.overlap) < Z * lt.value_se, (lt.value, lt.value_se, fp.overlap)
    lq = sol.long_time["norm2"]
    assert lq.converged
    assert abs(lq.value - fp.norm2) < Z * lq.value_se, (lq.value, lq.value_se, fp.norm2)
