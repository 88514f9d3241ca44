"""Censored escape times (docs/math/statistics.md): Kaplan-Meier medians and CIs, bootstrap slope SEs,
theory as a distribution over the exact law of M(0), and the flow command's censoring-aware output."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from mimflow.cli import main
from mimflow.dynamics import haar_overlaps_batch
from mimflow.runs import check_claim, coverage_claim, welch_dof
from mimflow.studies.hermite._reports import exponents_report
from mimflow.targets import multivariate_spectrum
from mimflow.theory import (
    censored_median,
    escape_time_distribution,
    initial_saddle_overlaps,
    loglog_slope_with_error,
    per_seed_escape_times,
    predicted_escape_times,
    sample_initial_overlaps,
    type1_median,
)


def test_censored_median_matches_the_type1_closed_form_and_covers():
    """With one horizon, Kaplan-Meier is the empirical law with censored runs at +inf; its 95 % CI covers
    the true median (exponential, median ln 2) in ~95 % of 400 replications (binomial tolerance)."""
    rng = np.random.default_rng(0)
    covered = 0
    for rep in range(400):
        x = rng.exponential(size=41)
        t = np.where(x < 2.0, x, np.nan)
        m = censored_median(t, 2.0)
        assert m.median == pytest.approx(float(type1_median(np.where(np.isfinite(t), t, np.inf))))
        covered += m.ci95[0] <= np.log(2) <= (m.ci95[1] if m.ci95[1] is not None else np.inf)
    assert abs(covered / 400 - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 400) + 0.02


def test_dropping_censored_runs_biases_the_median_but_kaplan_meier_does_not():
    """The defect of issue 12: the median of the escaped subset is too small when 30 % are censored."""
    rng = np.random.default_rng(1)
    x = rng.exponential(size=2000)
    h = np.quantile(x, 0.7)
    t = np.where(x < h, x, np.nan)
    km = censored_median(t, h).median
    dropped = float(np.median(t[np.isfinite(t)]))
    se = 1 / (2 * 0.5 * np.sqrt(2000))  # asymptotic SE of the median of Exp(1): 1/(2 f(m) sqrt(n)), f(m) = 1/2
    assert abs(km - np.log(2)) < 4 * se
    assert dropped < np.log(2) - 8 * se


def test_censored_median_reports_a_censored_median_as_a_lower_bound():
    m = censored_median([1.0, np.nan, np.nan, np.nan], 5.0)
    # the estimate is only known to be > 5; the CI's lower end comes from the band, its upper end is open
    assert m.median is None and m.median_censored and m.horizon == 5.0 and m.ci95[0] == 1.0 and m.ci95[1] is None
    assert m.censored_fraction == 0.75


def test_bootstrap_slope_recovers_a_power_law_within_its_standard_error():
    """t = d^2 / chi2_1^2 (an s = 3 escape-time law): the fitted slope is 2 within 3 SE in 20 replications
    (each SE from its own bootstrap), and the SE matches the spread of the slopes across replications."""
    ds = np.array([100, 1000, 10000])
    rng = np.random.default_rng(2)
    slopes, ses = [], []
    for _ in range(20):
        samples = [d**2 / rng.chisquare(1, size=64) ** 2 for d in ds]
        horizons = [1e6 * d**2 for d in ds]
        samples = [np.where(s < h, s, np.nan) for s, h in zip(samples, horizons)]
        est = loglog_slope_with_error(ds, samples, horizons, n_resamples=500)
        slopes.append(est.fitted)
        ses.append(est.fitted_se)
    slopes, ses = np.array(slopes), np.array(ses)
    assert np.all(np.abs(slopes - 2) < 3.5 * ses)
    spread = np.std(slopes, ddof=1)
    assert 0.5 < np.median(ses) / spread < 2.0  # chi-square(19) spread of a SD estimate: ratio within 0.5..2


def test_numpy_initial_overlaps_follow_the_law_of_the_jax_sampler():
    a = sample_initial_overlaps(500, 2, 3, 3000, seed=4)
    b = np.asarray(haar_overlaps_batch(500, 2, 3, range(3000), streams=(7,)))
    for i, j in [(0, 0), (1, 2)]:
        assert stats.ks_2samp(a[:, i, j], b[:, i, j]).pvalue > 1e-3
    assert np.mean(a**2) == pytest.approx(1 / 500, rel=0.05)  # E[M_ij^2] = 1/d


@pytest.mark.parametrize("algorithm, link", [("two-timescale", "z1 + h2(z2) + h3(z3)"), ("planted", "h3(z1) + h4(z2)")])
def test_per_seed_predictions_equal_the_row_by_row_theory(algorithm, link):
    spec = multivariate_spectrum(link, 4)
    M0 = sample_initial_overlaps(1000, spec.r, spec.r, 6, seed=5)
    x0 = initial_saddle_overlaps(spec, M0, algorithm=algorithm)
    rows = per_seed_escape_times(spec, 1000, x0, algorithm=algorithm)
    for i in range(6):
        expected = predicted_escape_times(spec, 1000, algorithm=algorithm, initial=list(x0[i]))
        np.testing.assert_allclose(rows[i], expected, rtol=1e-12)


def test_predicted_median_of_a_single_direction_is_the_closed_form_median():
    """For one direction t(x0) is decreasing in x0, so median(t) = t(median x0) = predicted_escape_times."""
    spec = multivariate_spectrum("h3(z)", 5)
    dist = escape_time_distribution(spec, 1000, n_draws=20000)
    expected = predicted_escape_times(spec, 1000)[0]
    # MC error of a median: the x0-quantile error 1.25 sigma/sqrt(n) mapped through t ~ x0^-2
    assert dist.values[1, 0] == pytest.approx(expected, rel=0.05)
    assert dist.values[0, 0] < expected < dist.values[2, 0]


def test_claims_verdicts():
    assert check_claim("c", "p", "q", predicted=2.0, measured=2.1, se=0.1).holds
    assert not check_claim("c", "p", "q", predicted=2.0, measured=2.3, se=0.1).holds
    assert check_claim("c", "p", "q", predicted=2.0, measured=2.23, se=0.1, family=6).holds  # z = 2.64
    assert not check_claim("c", "p", "q", predicted=2.0, measured=None, se=0.1).holds
    assert coverage_claim("c", "p", "q", [True] * 18 + [False] * 2).holds
    assert not coverage_claim("c", "p", "q", [True] * 5 + [False] * 15).holds


def test_claim_interval_of_a_few_seed_mean_covers_95_percent_with_student_t():
    """A mean over 8 seeds with its sample s.e.: +- 1.96 s.e. covers P(|t_7| < 1.96) = 0.911, not 0.95
    (the spectral-overlap and dmft-wirtinger claims used it); ``dof=7`` gives Student's 2.365. Checked by
    Monte Carlo over 4000 draws: binomial s.e. of a 95 % coverage is 0.0034."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 8))
    m, se = x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(8)
    t_cov = np.mean([check_claim("c", "p", "q", predicted=0.0, measured=a, se=b, dof=7).holds for a, b in zip(m, se)])
    z_cov = np.mean([check_claim("c", "p", "q", predicted=0.0, measured=a, se=b).holds for a, b in zip(m, se)])
    assert abs(t_cov - 0.95) < 4 * 0.0034, t_cov
    assert abs(z_cov - 2 * stats.t(7).cdf(1.96) + 1) < 4 * 0.0045, z_cov  # the old interval: 91 %
    claim = check_claim("c", "p", "q", predicted=0.0, measured=2.2, se=1.0, dof=7)
    assert claim.holds and claim.measured_ci95[1] == pytest.approx(2.2 + stats.t(7).ppf(0.975))


def test_welch_dof_closed_forms():
    assert welch_dof((0.3, 9), (0.3, 9)) == pytest.approx(18.0)  # equal terms: the dofs add
    assert welch_dof((0.1, np.inf), (0.2, 4)) == pytest.approx(4 * (0.01 + 0.04) ** 2 / 0.04**2)
    assert welch_dof((0.1, np.inf)) == np.inf
    assert check_claim("c", "p", "q", predicted=0.0, measured=1.97, se=1.0, dof=np.inf).holds is False


def test_exponents_above_the_default_degree_are_found_or_warned():
    """Issue 12 item 4: h5(z1)*h5(z2) printed null for every exponent at the default degree 8."""
    report = exponents_report("h5(z1)*h5(z2)")
    assert report["information_exponent"] == 10 and report["leap_exponent"] == 10 and not report["warnings"]
    low = exponents_report("h5(z1)*h5(z2)", 6)
    assert low["information_exponent"] is None and low["above_degree"] and "--degree" in low["warnings"][0]


@pytest.mark.slow(ci=True)
def test_flow_json_is_censoring_aware(capsys):
    import json

    code = main(["flow", "h2(z)", "--d", "100,400,1600", "--seeds", "24", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code in (None, 0)
    for key in ("median_escape_times", "median_escape_times_ci95", "censored_fraction",
                "predicted_escape_time_quantiles", "warnings", "horizon"):
        assert key in out
    slope = out["escape_time_slopes"][0]
    assert slope["fitted_se"] > 0 and abs(slope["fitted"] - slope["predicted"]) < 3 * slope["fitted_se"]
    for d in ("100", "400", "1600"):
        lo, hi = out["median_escape_times_ci95"][d][0]
        q = out["predicted_escape_time_quantiles"][d]
        assert q["0.1"][0] < q["0.5"][0] < q["0.9"][0]
        assert lo <= out["median_escape_times"][d][0] <= hi
    runs = out["runs"]
    ratio = [r["escape_times"][0] / r["predicted_escape_times"][0] for r in runs if r["escape_times"][0]]
    assert np.median(np.abs(np.log(ratio))) < 0.1  # each seed against its own prediction
