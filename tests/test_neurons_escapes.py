"""Search times of correlation-loss neurons as censored data (docs/math/neurons.md §2.2, docs/math/statistics.md).

Anchors outside the code under test: the exact solution of the quadratic-g ODE (logistic |m|^2) against
the reduced ODE solver; the survival function of the exact law of m(0) by direct Monte Carlo; a
horizon shorter than the median must give a censored median (never a median of the escaped subset).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from helpers import run_cli

from mimflow.dynamics import neuron_initial_overlaps, solve_neurons
from mimflow.studies.neurons._escapes import never_escaping, network_times, semilog_slope_with_error
from mimflow import theory as th
from mimflow.theory._neuron_search import quadratic_search_times, search_time_quantiles, search_time_survival


def test_quadratic_search_time_closed_form_matches_the_ode():
    """g = m^2, Q = I: every neuron's escape time from the closed form equals the solver's (rtol 1e-9)."""
    a = th.correlation_coefficients("h2")
    m0 = neuron_initial_overlaps(np.eye(4), 500, 64, [3])
    run = solve_neurons(a, np.eye(4), m0, t_max=100.0, rtol=1e-11)
    np.testing.assert_allclose(run.escape_time, quadratic_search_times(a, m0), rtol=1e-6)
    # the single-index integral of the largest overlap alone is too short: others grow at the same rate
    single = [th.neuron_search_time(a, float(x)) for x in np.max(np.abs(m0[0]), axis=-1)]
    assert np.median(run.escape_time[0] / np.array(single)) > 1.01


def test_predicted_quantiles_and_survival_match_the_exact_law():
    """h4, k = 3, d = 2000: quantiles of tau(max|m_j(0)|) over 20000 exact draws of m(0) against the theory."""
    a = th.correlation_coefficients("h4")
    d, k = 2000, 3
    m0 = neuron_initial_overlaps(np.eye(k), d, 20000, [11])[0]
    tau = np.array([th.neuron_search_time(a, float(x)) for x in np.max(np.abs(m0), axis=-1)[:4000]])
    q = search_time_quantiles(a, k, d, [0.1, 0.5, 0.9])
    emp = np.quantile(tau, [0.1, 0.5, 0.9])
    # quantile SE of 4000 draws, by the order-statistic binomial: rank sd = sqrt(n p (1-p))
    for level, pred, got in zip((0.1, 0.5, 0.9), q, emp):
        sd = math.sqrt(4000 * level * (1 - level))
        lo, hi = np.quantile(tau, [level - 3 * sd / 4000, level + 3 * sd / 4000])
        assert lo <= pred <= hi, (level, pred, got)
    t = q[1] * 3
    surv = search_time_survival(a, k, d, t)
    se = math.sqrt(surv * (1 - surv) / tau.size)
    assert abs(np.mean(tau > t) - surv) < 4 * se


def test_never_escaping_selection_uses_the_initial_condition_only():
    a3, a4 = th.correlation_coefficients("h3"), th.correlation_coefficients("h4")
    m0 = np.array([[[-0.1, -0.2], [0.1, -0.2], [-0.3, 0.0]]])
    np.testing.assert_array_equal(never_escaping(a3, np.eye(2), m0), [[True, False, True]])
    assert not never_escaping(a4, np.eye(2), m0).any()  # even g: every neuron escapes
    assert not never_escaping(a3, np.array([[1.0, 0.3], [0.3, 1.0]]), m0).any()  # Q != I: no selection


def test_network_first_and_last_are_censored_honestly():
    esc = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2.0, 5.0, np.nan]])
    counted = np.array([[True, True, True], [True, True, True], [True, True, False]])
    first, last, has = network_times(esc, counted)
    np.testing.assert_array_equal(first, [1.0, np.nan, 2.0])
    np.testing.assert_array_equal(last, [np.nan, np.nan, 5.0])  # seed 0 has a censored neuron
    assert has.all()


def test_semilog_slope_recovers_a_known_law():
    rng = np.random.default_rng(0)
    ds = [1e3, 1e4, 1e5]
    samples = [0.25 * math.log(d) + 0.3 * rng.standard_normal(400) for d in ds]
    slope, se = semilog_slope_with_error(ds, samples, [1e9] * 3)
    assert abs(slope - 0.25) < 4 * se and 0.003 < se < 0.03


def test_short_horizon_gives_a_censored_median_not_the_escaped_subset(capsys):
    """Horizon at the predicted 30 % quantile: most neurons are censored, so the median is only '> t_max'."""
    a = th.correlation_coefficients("h4")
    t_max = float(search_time_quantiles(a, 2, 5000, [0.3])[0])
    code, out, err = run_cli(capsys, "neurons", "h4", "--k", "2", "--n", "16", "--d", "5000", "--seeds", "2",
                             "--n-save", "0", "--t-max", str(t_max), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["median_escape_time"] is None
    assert data["median_censored"]["5000"] == [True]
    assert data["censored_fraction"]["5000"][0] > 0.5
    assert data["median_escape_times_ci95"]["5000"][0][1] is None
    assert any("censored" in w or "> " in w for w in data["warnings"])


def test_neurons_json_reports_never_escaping_separately(capsys):
    code, out, err = run_cli(capsys, "neurons", "h3", "--k", "2", "--n", "16", "--d", "2000", "--seeds", "3",
                             "--n-save", "0", "--json")
    assert code == 0, err
    data = json.loads(out)
    never = sum(not c for run in data["escape_times"] for c in run["counted"])
    assert data["never_escaping"]["2000"] == [never] and data["counted_runs"]["2000"] == [48 - never]
    for run in data["escape_times"]:  # the excluded neurons indeed never escaped
        assert all(t is None for t, c in zip(run["per_neuron"], run["counted"]) if not c)
    assert data["censored_fraction"]["2000"] == [0.0]
    lo, hi = data["median_escape_times_ci95"]["2000"][0]
    pred = data["predicted_escape_time_quantiles"]["2000"]["0.5"][0]
    assert lo <= data["median_escape_time"] <= hi and lo < pred < hi
    assert 0.0 <= data["predicted_censored_fraction"]["2000"][0] < 1e-3
    assert isinstance(data["warnings"], list)
    assert data["recovered_all_ci95"][0] <= data["recovered_all_fraction"] <= data["recovered_all_ci95"][1]


@pytest.mark.parametrize("link", ["relu", "h2"])
def test_neurons_run_warns_outside_the_hypothesis(capsys, link):
    code, out, err = run_cli(capsys, "neurons", link, "--k", "2", "--n", "4", "--d", "500", "--seeds", "1",
                             "--n-save", "0", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["beta_c"] is None
    assert any("Simsek" in w for w in data["warnings"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["search-phase", "coverage", "beta-c"])
def test_neuron_reproductions_quick_state_claims_that_hold(tmp_path, name):
    """Each quick reproduction writes claims.json (also under "claims" in its JSON) and every claim holds."""
    from mimflow.runs._registry import reproduce

    paths = reproduce(name, tmp_path, quick=True)
    claims_path = next(p for p in paths if p.name == "claims.json")
    claims = json.loads(claims_path.read_text())
    summary = json.loads(next(p for p in paths if p.suffix == ".json" and p.name != "claims.json").read_text())
    assert claims and summary["claims"] == claims
    assert all(c["holds"] for c in claims), [c for c in claims if not c["holds"]]
