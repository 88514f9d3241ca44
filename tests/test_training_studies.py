"""What online SGD shows against the population theory (issue 6, section 5).

Anchors outside the code under test:

* the noise term ``C(m) = E[e^2]`` of the corrected single-index ODE against Gaussian moments worked
  by hand (linear link: planted ``2(1 - m)``, correlation ``1``; ``h2`` planted at ``m = 0``:
  ``2 E[h2^2 z^2] + 2 E[z^2] E[h2^2] = 2 * 5 + 2 = 12``), and ``v(m)`` against
  :func:`mimflow.theory.single_index_velocity`;
* the d^(-1/2) law of the finite-d deviation (module docstring of
  :mod:`mimflow.studies.train._sgd_vs_ode`, section 1): fitted slope within 4 standard errors of -1/2;
* the escape-sample exponent of planted online SGD with information exponent ``s = 3`` and
  ``eta = c d^(-3/2)``: samples ``= t_esc / eta``, ``t_esc = Theta(d^(s/2 - 1))`` (docs/math/saddles.md §1.6 planted
  row, 1.7; Ben Arous, Gheissari, Jagannath 2021), so ``Theta(d^(s - 1)) = d^2`` (section 2 of the same
  docstring: with ``delta = s/2`` the retraction term, the martingale noise and the signal all scale
  alike in ``d``, only the constant depends on ``c``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mimflow.dynamics import Trajectory
from mimflow.studies.train import sample_complexity, samples_to_escape, sgd_vs_ode, weighted_loglog_slope
from mimflow.theory import single_index_velocity
from mimflow.training import online_limit_coefficients, solve_single_index_ode


def test_noise_term_matches_hand_moments():
    m = np.array([-0.3, 0.0, 0.4, 0.9])
    v, C = online_limit_coefficients([0.0, 1.0], loss="planted")
    np.testing.assert_allclose(C(m), 2.0 * (1.0 - m), rtol=1e-12)
    v, C = online_limit_coefficients([0.0, 1.0], loss="correlation", noise=0.5)
    np.testing.assert_allclose(C(m), 1.0 + 0.25, rtol=1e-12)
    v, C = online_limit_coefficients([0.0, 0.0, 1.0], loss="planted")
    assert float(C(np.array(0.0))) == pytest.approx(12.0, rel=1e-12)
    assert float(C(np.array(1.0))) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("coeffs", [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 1.0], [0.3, 0.5, -0.2, 0.4, 0.1]])
def test_velocity_is_the_planted_flow(coeffs):
    m = np.linspace(-0.9, 0.9, 7)
    v, _ = online_limit_coefficients(coeffs)
    np.testing.assert_allclose(v(m), single_index_velocity(m, np.asarray(coeffs) ** 2, algorithm="planted"),
                               rtol=1e-12, atol=1e-14)


def test_reference_ode_matches_closed_form():
    """Linear link, planted, corrected ODE: dm/dt = (1 - m)(1 + (1 - eta0) m), solved in closed form."""
    eta0 = 0.5
    v, C = online_limit_coefficients([0.0, 1.0])
    t = np.linspace(0.0, 3.0, 31)
    m0 = np.array([-0.05, 0.0, 0.1])
    got = solve_single_index_ode(lambda y: v(y) - 0.5 * eta0 * C(y) * y, m0, t)
    a = 1.0 - eta0  # dm/dt = (1 - m)(1 + a m): partial fractions, (1 + a m)/(1 - m) = k e^{(1 + a) t}
    k = (1.0 + a * m0) / (1.0 - m0)
    e = k[:, None] * np.exp((1.0 + a) * t)[None, :]
    np.testing.assert_allclose(got, (e - 1.0) / (e + a), rtol=1e-8, atol=1e-10)


def test_weighted_slope_of_exact_power_law():
    ds = np.array([10.0, 100.0, 1000.0])
    slope, se = weighted_loglog_slope(ds, 3.0 * ds**-0.5, 0.01 * ds**-0.5)
    assert slope == pytest.approx(-0.5, abs=1e-12)
    assert se > 0


def test_train_crossing_times_interpolate_and_censor():
    from mimflow.studies.train import crossing_times

    t = np.array([0.0, 1.0, 2.0, 4.0])
    v = np.array([[[0.1, 0.0], [0.3, 0.1], [0.7, 0.2], [0.9, 0.3]],
                  [[0.6, 0.1], [0.8, 0.1], [0.9, 0.2], [0.9, 0.2]]])
    got = crossing_times(t, v)
    assert got[0, 0] == pytest.approx(1.5)
    assert np.isnan(got[0, 1]) and np.isnan(got[1, 1])  # never reached: censored at t[-1], not dropped
    assert got[1, 0] == 0.0


def test_train_json_has_censoring_aware_escape_times(capsys):
    """A step budget shorter than most escapes: the median is censored (null + flag), with a warning."""
    from helpers import run_cli

    code, out, err = run_cli(capsys, "train", "h3", "--algorithm", "planted", "--d", "100,200", "--steps", "300",
                             "--lr", "0.05", "--lr-exponent", "1.5", "--seeds", "8", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("median_escape_times", "median_escape_times_ci95", "median_censored", "censored_fraction",
                "horizon", "counted_runs", "escape_time_slopes", "warnings"):
        assert key in data, key
    assert data["horizon"]["100"] == pytest.approx(300 * 0.05 * 100**-1.5)
    assert data["median_censored"]["200"] == [True] and data["median_escape_times"]["200"] == [None]
    assert any("censored" in w or "> " in w for w in data["warnings"])


def test_samples_to_escape_interpolates_and_censors():
    t = np.arange(5.0)
    m = np.array([[0.1, 0.2, 0.4, 0.6, 0.9], [0.1, 0.1, 0.1, 0.2, 0.3], [0.5, 0.6, 0.7, 0.8, 0.9]])
    traj = Trajectory(t=t, M=m[:, :, None, None], loss=np.zeros((3, 5)), d=100, seeds=np.arange(3),
                      algorithm="planted", link="h3", converged=np.zeros(3, bool), t_stop=t[-1] * np.ones(3),
                      n_steps=np.zeros(3, int), info={"save_steps": np.array([0, 10, 20, 30, 40])})
    got = samples_to_escape(traj, samples_per_step=2.0)
    assert got[0] == pytest.approx(2.0 * 25.0)
    assert np.isinf(got[1])
    assert got[2] == 0.0


@pytest.mark.slow(ci=True)
def test_deviation_from_corrected_ode_shrinks_like_inverse_sqrt_d():
    """RMS over seeds of max_t |m_SGD - m_ODE| against d: slope -1/2 within 4 SE (reduced engine).

    Against the eta -> 0 flow the deviation tends to a constant O(eta0): at the largest d it must be
    well above the deviation from the corrected ODE (the correction is needed, and is right).
    """
    res = sgd_vs_ode(ds=(200, 800, 3200), seeds=32, eta0=0.1, t_max=1.5, n_save=30)
    assert abs(res["slope"] + 0.5) < 4.0 * res["slope_se"], res
    assert res["slope_se"] < 0.1
    assert res["rms_dev_flow"][-1] > 2.0 * res["rms_dev_corrected"][-1]


def _escape_exponent(case, ds, seeds, budget):
    res = sample_complexity(cases=[case], ds=ds, seeds=seeds, budget=budget, n_save=200)
    return res["cases"][case]


@pytest.mark.slow(ci=True)
def test_correlation_escape_samples_scale_like_d_squared():
    """Correlation loss, one neuron, sigma = h3 (p* = 3), eta = 0.3 d^(-3/2): samples ~ d^(p* - 1) = d^2.

    The fitted exponent (log median over seeds vs log d, bootstrap SE) must be within 4 SE of the
    exponent of the population prediction t_esc(d)/eta at the same d (2.06 here: the exact escape
    integral from the median |m(0)|: its finite-d correction, -1.45/sqrt(d) relative to the leading
    d^(1/2), raises the local slope by ~0.7/sqrt(d)). With 32 seeds the SE is ~0.27 (measured
    1.83 +- 0.27): this bounded version separates d^2 from d^1 only at ~3 SE; the slow planted test
    uses 64 seeds.
    """
    row = _escape_exponent("correlation h3, eta = c d^-3/2", (50, 100, 200), 32, 4.0)
    fit, se = row["fitted_exponent"], row["fitted_exponent_se"]
    assert np.isfinite(fit) and se < 0.4, row
    assert abs(fit - row["predicted_finite_d_exponent"]) < 4.0 * se, row
    assert min(row["escaped_fraction"]) > 0.5, row


@pytest.mark.slow
def test_planted_escape_samples_scale_like_d_squared():
    """Planted h3 on the Stiefel manifold (r = 1: the sphere), eta = 0.05 d^(-3/2): samples ~ d^2 (as above).

    Here C(0) = E[e^2] = 96 makes the retraction term comparable to the signal at m ~ d^(-1/2)
    (unstable point of the corrected ODE at 0.8 d^(-1/2)): the escape is noise-assisted, but every
    term still scales alike in d, so the exponent is unchanged; only the constant grows.
    """
    row = _escape_exponent("planted h3, eta = c d^-3/2", (50, 100, 200), 64, 4.0)
    fit, se = row["fitted_exponent"], row["fitted_exponent_se"]
    assert np.isfinite(fit) and se < 0.4, row  # 32 seeds gave SE 0.45; 64 seeds ~0.32
    assert abs(fit - row["predicted_finite_d_exponent"]) < 4.0 * se, row


@pytest.mark.slow
def test_deviation_slope_tight():
    res = sgd_vs_ode(ds=(400, 1600, 6400), seeds=128, eta0=0.1, t_max=2.0, n_save=40)
    assert abs(res["slope"] + 0.5) < 4.0 * res["slope_se"], res
    assert res["slope_se"] < 0.04


@pytest.mark.parametrize("name", ["sgd-vs-ode", "sample-complexity"])
def test_reproductions_quick(tmp_path, name):
    import xarray as xr

    from mimflow.runs import reproduce

    paths = reproduce(name, tmp_path, quick=True)
    assert [p.suffix for p in paths] == [".png", ".nc", ".json", ".json"] and paths[3].name == "claims.json"
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    summary = json.loads(paths[2].read_text())
    claims = json.loads(paths[3].read_text())
    assert claims and summary["claims"] == claims and isinstance(summary["warnings"], list)
    assert all(c["holds"] for c in claims), claims
    data = xr.open_dataset(paths[1])
    if name == "sgd-vs-ode":
        assert {"slope", "slope_se", "rms_dev_corrected", "rms_dev_flow", "d"} <= set(summary)
        assert data["m"].dims == ("d", "seed", "t")
    else:
        row = next(iter(summary["cases"].values()))
        assert {"median", "median_ci95", "median_censored", "censored_fraction", "escape_slope", "fitted_exponent",
                "predicted_exponent", "escaped_fraction", "predicted"} <= set(row)
        assert {"fitted", "fitted_se", "predicted", "text"} <= set(row["escape_slope"])
        assert data["samples"].dims == ("case", "d", "seed")
