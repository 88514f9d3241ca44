"""Bayes-optimal limits, AMP state evolution and GAMP on samples (mimflow.amp, docs/math/amp.md).

Anchors outside the code:
* alpha_WR = 1/2 for noiseless real phase retrieval: Mondelli and Montanari, FoCM 19 (2019) 703, and the
  independent implementation of their integral in mimflow.theory.mondelli_montanari_threshold;
* alpha_IT = 1, alpha_alg ~ 1.13 for phase retrieval with a Gaussian prior: Barbier, Krzakala, Macris,
  Miolane, Zdeborova, PNAS 116 (2019) 5451 (3 digits quoted);
* binary perceptron (sign channel, Rademacher prior): first-order transition to perfect generalisation at
  alpha ~ 1.245 (Gyorgyi, PRA 41 (1990) 7097) and AMP spinodal alpha ~ 1.493 (Barbier et al. 2019);
* Bayes-optimal perceptron with a Gaussian teacher: generalisation error ~ 0.442/alpha (Opper and Haussler,
  PRL 66 (1991) 2677);
* closed forms: R(0) = E[g_out(y, 0, 1)^2] = 2/pi for sign; mmse(r) = 1/(1+r) (Gaussian prior);
* g_out and its derivative against finite differences of log Z_out; the free entropy maximised directly on a
  grid against the fixed point the state evolution selects; GAMP on samples against its state evolution
  with tolerances from the seed standard error.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers import run_cli
from mimflow import MimflowError
from mimflow.amp import (
    EvenChannel,
    NoisyChannel,
    SignChannel,
    compute_thresholds,
    make_channel,
    make_state_evolution,
    run_gamp,
)
from mimflow.theory import mondelli_montanari_threshold


@pytest.fixture(scope="module")
def se_z2():
    return make_state_evolution("z**2", "gaussian")


@pytest.fixture(scope="module")
def th_z2(se_z2):
    return compute_thresholds(se_z2)


@pytest.fixture(scope="module")
def se_sign():
    return make_state_evolution("sign", "gaussian")


@pytest.fixture(scope="module")
def se_perceptron():
    return make_state_evolution("sign", "rademacher")


def test_channel_recognition_and_bad_links():
    assert isinstance(make_channel("h2"), EvenChannel)  # (z^2 - 1)/sqrt(2): an affine image of z^2
    assert isinstance(make_channel("abs"), EvenChannel) and make_channel("abs").power == 1
    assert isinstance(make_channel("-3*sign(z) + 1"), SignChannel)
    assert isinstance(make_channel("tanh", 0.5), NoisyChannel)
    with pytest.raises(MimflowError, match="no exact noiseless channel"):
        make_channel("tanh")
    with pytest.raises(MimflowError, match="variables"):
        make_channel("z1*z2")
    with pytest.raises(MimflowError, match="noise"):
        make_channel("z**2", -1.0)


@pytest.mark.parametrize("link,obs", [("z**2", [0.3, 1.7]), ("sign", [1.0, -1.0]), ("relu", [0.0, 0.8]),
                                      ("tanh", [0.2, -0.5])])
def test_g_out_is_the_derivative_of_log_z(link, obs):
    """g_out = d log Z / d omega and dg_out = d g_out / d omega, by central differences (step 1e-5: error ~1e-9)."""
    ch = make_channel(link, 0.3 if link == "tanh" else 0.0)
    fns = jax.jit(lambda y, o, V: (ch.log_z(y, o, V), ch.g_out(y, o, V), ch.dg_out(y, o, V)))  # one compilation
    y = jnp.asarray(obs)
    omega, V, h = jnp.asarray([0.4, -0.7]), jnp.asarray([0.6, 0.6]), 1e-5
    (lz_p, g_p, _), (lz_m, g_m, _), (_, g, dg) = fns(y, omega + h, V), fns(y, omega - h, V), fns(y, omega, V)
    np.testing.assert_allclose(g, (lz_p - lz_m) / (2 * h), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dg, (g_p - g_m) / (2 * h), rtol=1e-6, atol=1e-7)


def test_weak_recovery_threshold_of_phase_retrieval(se_z2, th_z2):
    th = th_z2
    # Mondelli-Montanari: 1/alpha_u = Var(z^2) = 2; the tolerance is the code's own error estimate
    assert abs(th.alpha_weak_recovery - 0.5) <= th.alpha_weak_recovery_tolerance < 1e-7
    # an independent implementation of the same integral (preimages of y = z^2 on a grid)
    assert th.alpha_weak_recovery == pytest.approx(mondelli_montanari_threshold("z**2"), abs=1e-7)
    assert se_z2.solve(0.49).amp_overlap == 0.0 and se_z2.solve(0.51).amp_overlap > 0.0


def test_phase_retrieval_it_and_algorithmic_thresholds(se_z2, th_z2):
    th = th_z2
    assert th.alpha_information_theoretic == 1.0  # exact (docs/math/amp.md §3.3)
    assert th.alpha_algorithmic == pytest.approx(1.13, abs=0.005 + th.tolerance)  # Barbier et al. 2019, 3 digits
    hard = se_z2.solve(1.08)  # inside the hard phase: Bayes perfect, AMP stuck on the partial branch
    assert hard.bayes_overlap == 1.0 and 0.3 < hard.amp_overlap < 0.9 and hard.informed_overlap == 1.0
    assert se_z2.solve(1.2).amp_overlap == 1.0
    assert se_z2.solve(0.95).bayes_overlap == se_z2.solve(0.95).amp_overlap < 1.0


def test_binary_perceptron_thresholds(se_perceptron):
    th = compute_thresholds(se_perceptron, alpha_range=(0.5, 3.0), n_scan=41)
    assert th.alpha_weak_recovery == 0.0
    assert th.alpha_information_theoretic == pytest.approx(1.245, abs=0.001 + th.tolerance)  # Gyorgyi 1990
    assert th.alpha_algorithmic == pytest.approx(1.493, abs=0.001 + th.tolerance)  # Barbier et al. 2019


def test_free_entropy_decides_between_branches(se_perceptron):
    """At perfect recovery the perceptron's free entropy is -log 2 (no entropy left); the low branch wins
    below alpha_IT, perfect recovery above."""
    for alpha, perfect in ((1.2, False), (1.3, True)):
        point = se_perceptron.solve(alpha)
        low = [p for p in point.fixed_points if p.stable and p.q < 1][0]
        assert (low.free_entropy < -math.log(2)) == perfect
        assert (point.bayes_overlap == 1.0) == perfect


@pytest.mark.parametrize("alpha", [0.8, 1.0])
def test_fixed_point_maximises_the_free_entropy_on_a_grid(se_z2, alpha):
    """Direct maximisation of f(q) = psi(r) + alpha Psi_out(q) - r q / 2 (exact quadrature on a grid, no
    state evolution) lands on the fixed point the state evolution selects (grid spacing 2e-3)."""
    q = np.linspace(0.002, 0.9, 450)
    f = se_z2.free_entropy(q, alpha, exact=True)
    assert abs(q[np.argmax(f)] - se_z2.solve(alpha).bayes_overlap) < 2.5e-3
    assert se_z2.solve(alpha).bayes_overlap > 0.2  # not the trivial maximiser q = 0


def test_sign_channel_has_no_weak_recovery_threshold_and_known_limits(se_sign):
    assert se_sign.R_zero == pytest.approx(2 / math.pi, rel=1e-12)  # g_out(y, 0, 1) = 2 y phi(0)
    th = compute_thresholds(se_sign, n_scan=21)
    assert th.alpha_weak_recovery == 0.0 and th.alpha_information_theoretic is None
    # alpha -> 0: MSE -> rho = 1 with 1 - MSE = alpha R(0) mmse'(0) + O(alpha^2)
    small = 1e-4
    assert se_sign.solve(small).bayes_mse == pytest.approx(1 - 2 / math.pi * small, abs=1e-7)
    mse = [se_sign.solve(a).bayes_mse for a in (0.5, 1.0, 2.0, 4.0, 8.0)]
    assert all(b < a for a, b in zip(mse, mse[1:]))  # smoothly decreasing, no jump
    # alpha -> infinity: Bayes generalisation error arccos(sqrt(q))/pi ~ 0.442/alpha (Opper-Haussler)
    c = {a: a * math.acos(math.sqrt(se_sign.solve(a).bayes_overlap)) / math.pi for a in (100.0, 200.0)}
    assert 2 * c[200.0] - c[100.0] == pytest.approx(0.442, abs=1e-3)


def test_rademacher_phase_retrieval_perfect_recovery_region():
    se = make_state_evolution("z**2", "rademacher")
    th = compute_thresholds(se, alpha_range=(0.3, 3.0), n_scan=41)
    assert th.alpha_weak_recovery == pytest.approx(0.5, abs=th.alpha_weak_recovery_tolerance)
    assert th.alpha_information_theoretic == 0.0  # noiseless continuous labels pin a discrete signal
    assert se.solve(0.7).bayes_overlap == 1.0 and se.solve(0.7).amp_overlap < 1.0
    assert se.solve(th.alpha_algorithmic * 1.01).amp_overlap == 1.0
    assert se.solve(2.0).bayes_mse == 0.0


def test_state_evolution_trajectory_matches_gaussian_prior_closed_form(se_z2):
    """One SE step by hand: q1 = r/(1+r), r = alpha R(q0) (Gaussian prior mmse = 1/(1+r))."""
    r = 0.8 * se_z2.R_exact(0.2)
    assert se_z2.trajectory(0.8, 0.2, 1)[1] == pytest.approx(r / (1 + r), rel=1e-13)


@pytest.mark.slow(ci=True)
def test_gamp_on_samples_follows_state_evolution(se_sign):
    """Sign channel, Gaussian prior, alpha = 1, d = 1000, 8 seeds: every iterate within 4 seed standard
    errors of the state evolution (4 SE: a two-sided 1e-4 test per iterate, 10 iterates)."""
    run = run_gamp("sign", 1.0, 1000, list(range(8)), steps=10, q0=0.05)
    mean, se = run.mean_and_se("overlap")
    pred = se_sign.trajectory(1.0, 0.05, 10)
    assert np.all(np.abs(mean[1:] - pred[1:]) <= 4 * se[1:]), (mean, se, pred)
    assert np.all(se[1:] < 0.02)  # the test has teeth: the error bars are small
    # Nishimori: <w_hat, w*> = ||w_hat||^2 on the Bayes-optimal trajectory
    n_mean, n_se = run.mean_and_se("norm2")
    assert np.all(np.abs(n_mean[1:] - pred[1:]) <= 4 * np.hypot(n_se[1:], 1e-3))


def test_gamp_rejects_bad_inputs():
    with pytest.raises(MimflowError, match="q0"):
        run_gamp("z**2", 1.0, 100, [0], q0=1.5)
    with pytest.raises(MimflowError, match="alpha"):
        run_gamp("z**2", -1.0, 100, [0])


def test_cli_json_keys(capsys):
    code, out, err = run_cli(capsys, "amp", "z**2", "--alpha", "0.3,1.2", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in ("alpha", "bayes_overlap", "bayes_mse", "amp_overlap", "amp_mse", "fixed_points", "thresholds"):
        assert key in data
    assert data["bayes_overlap"] == [0.0, 1.0] and data["amp_mse"] == [1.0, 0.0]
    th = data["thresholds"]
    assert set(th) >= {"alpha_weak_recovery", "alpha_weak_recovery_tolerance", "alpha_algorithmic",
                       "alpha_information_theoretic", "tolerance"}
    assert th["alpha_weak_recovery"] == pytest.approx(0.5, abs=1e-7)


@pytest.mark.parametrize("args,field", [
    (["--prior", "laplace"], "prior"),
    (["--alpha", "-1"], "alpha"),
    (["--alpha", "nan"], "alpha"),
    (["--noise", "nan"], "noise"),
])
def test_cli_bad_input_is_one_line_exit_2(capsys, args, field):
    code, out, err = run_cli(capsys, "amp", "z**2", *args, "--json")
    assert code == 2
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and field in lines[0], err
