"""Finite-sample training (issue 6): constraints, reproducibility, closed-form risks, the ridge link fit,
the reduced chain against the d-dimensional simulation in law, convergence to the population ODE,
bad input and the ``mimflow train`` command."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import ks_2samp

from mimflow import MimflowError
from mimflow.hermite import averaged_spectrum
from mimflow.training import (
    Scaling,
    make_algorithm,
    max_deviation,
    population_reference,
    train_full_batch,
    train_online,
)
from mimflow.training._features import hermite_features
from mimflow.training._online import _seed_keys
from mimflow.training._random import chi2, orthogonal_part, orthogonal_part_draws
from mimflow.training._reduced import reduced_block_randomness, reduced_local_fields
from mimflow.training._segments import _full_init, _full_segment
from helpers import run_cli

KS_LEVEL = 1e-3
"""Level of each two-sample KS test (the keys are fixed, so a test either always passes or always fails;
with ~8 tests per case a false alarm under the null has probability below 1%)."""


# ----------------------------------------------------------------------------- constraints


def test_stiefel_constraint_full_engine():
    """d-dimensional Stiefel SGD keeps W^T W = I to 1e-10 (polar retraction every step)."""
    algo = make_algorithm("planted", "h2(z1) + h3(z2)")
    seeds, ik, rk = _seed_keys(3, None)
    state = _full_init(algo, 40, ik, rk)
    _, state = _full_segment(algo, 2, 40, jnp.float64(0.01), jnp.int64(0), jnp.int64(300), state)
    W = np.asarray(state.W)
    defect = np.einsum("sdi,sdj->sij", W, W) - np.eye(2)
    assert np.max(np.abs(defect)) < 1e-10


def test_stiefel_reduced_chain_stays_a_gram_matrix():
    """Reduced Stiefel chain: G = [[I, M], [M^T, I]] stays PSD (||M||_op <= 1) and the run returns Q = None."""
    algo = make_algorithm("planted", "h2(z1) + h3(z2)")
    traj = train_online(algo, d=40, steps=400, lr=0.01, batch=2, seeds=3, engine="reduced", n_save=10)
    assert traj.Q is None
    assert np.max(np.linalg.norm(traj.M, ord=2, axis=(2, 3))) <= 1 + 1e-10
    assert traj.M.shape == (3, len(traj.t), 2, 2)


@pytest.mark.parametrize("engine", ["reduced", "full"])
def test_sphere_constraint(engine):
    """Correlation neurons: every column of W has unit norm, diag(Q) = 1 to 1e-10; Q is PSD."""
    algo = make_algorithm("correlation", "h3", teacher_neurons=2, student_neurons=3, beta=0.3)
    traj = train_online(algo, d=30, steps=300, lr=0.01, seeds=3, engine=engine, n_save=5)
    diag = np.diagonal(traj.Q, axis1=2, axis2=3)
    assert np.max(np.abs(diag - 1)) < 1e-10
    assert np.min(np.linalg.eigvalsh(traj.Q)) > -1e-12
    # |M_ji| = |v_j^T w_i| <= 1 (unit vectors)
    assert np.max(np.abs(traj.M)) <= 1 + 1e-10


# ----------------------------------------------------------------------------- reproducibility and time mapping


def test_seed_reproducibility_and_time_mapping():
    algo = make_algorithm("planted", "h2(z1) + h3(z2)")
    kw = dict(d=40, steps=400, lr=0.01, batch=2, engine="reduced", n_save=10)
    a = train_online(algo, seeds=[0, 1, 2], **kw)
    b = train_online(algo, seeds=[0, 1, 2], **kw)
    np.testing.assert_array_equal(a.M, b.M)
    np.testing.assert_array_equal(a.loss, b.loss)
    c = train_online(algo, seeds=[5, 2, 7], **kw)  # a seed's path does not depend on the other seeds
    np.testing.assert_allclose(c.M[1], a.M[2], rtol=0, atol=1e-12)
    other = train_online(algo, seeds=[0, 1, 2], key=jax.random.PRNGKey(9), **kw)
    assert not np.allclose(other.M[:, -1], a.M[:, -1])
    # t = step * lr, and the save grid includes 0 and the last step
    assert a.t[0] == 0 and a.t[-1] == pytest.approx(400 * 0.01)
    steps = a.t / 0.01
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-9)
    # learning rate as a scaling in d
    s = train_online(algo, seeds=[0, 1, 2], d=40, steps=50, lr=Scaling(0.4, 1.0), batch=2, n_save=3)
    assert s.info["lr"] == pytest.approx(0.01) and s.t[-1] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- closed-form risks vs Monte Carlo


def _frame(rng, d, r, p, *, P=None, norms=None):
    """W* with Gram P (= I by default) in the first r coordinates, W with columns of the given norms."""
    P = np.eye(r) if P is None else P
    U = np.linalg.cholesky(P).T
    W_star = np.zeros((d, r))
    W_star[:r] = U
    W = rng.normal(size=(d, p)) + 1.5 * W_star[:, :1] @ np.ones((1, p))
    W /= np.linalg.norm(W, axis=0)
    if norms is not None:
        W *= norms[None, :]
    return W_star, W


def _mc_check(values, exact):
    mean, se = float(np.mean(values)), float(np.std(values) / np.sqrt(values.size))
    assert abs(mean - exact) < 5 * se + 1e-12, (mean, exact, se)


@pytest.mark.parametrize("constraint, second", [("sphere", False), ("free", True)])
def test_committee_risk_vs_monte_carlo(constraint, second):
    """Closed-form committee risk (Mehler + Hermite coefficients of sigma(sqrt(q) u)) vs a test set, 5 SE."""
    algo = make_algorithm("committee", "erf(z1) + h2(z2)", student_width=3, activation="erf",
                          constraint=constraint, train_second_layer=second)
    rng = np.random.default_rng(0)
    norms = np.array([0.7, 1.0, 1.6]) if constraint == "free" else None
    W_star, W = _frame(rng, 8, 2, 3, norms=norms)
    c = np.array([0.8, -0.5, 1.3])
    exact = float(algo.risk(jnp.asarray(W_star.T @ W), jnp.asarray(W.T @ W), {"c": jnp.asarray(c)}))
    X = rng.normal(size=(400_000, 8))
    from scipy.special import erf

    y = erf(X @ W_star[:, 0]) + ((X @ W_star[:, 1]) ** 2 - 1) / np.sqrt(2)
    pred = erf(X @ W) @ c
    _mc_check(0.5 * (pred - y) ** 2, exact)


def test_correlation_risk_vs_monte_carlo():
    """-E[f*(x) f(x)] = -sum_ij g(M_ji) for non-orthogonal unit teacher neurons (docs/math/neurons.md §2.2)."""
    algo = make_algorithm("correlation", "h3(z) + 0.5*h2(z)", teacher_neurons=2, student_neurons=2, beta=0.4)
    rng = np.random.default_rng(1)
    W_star, W = _frame(rng, 7, 2, 2, P=algo.teacher_gram)
    exact = float(algo.risk(jnp.asarray(W_star.T @ W), jnp.asarray(W.T @ W), {}))

    def sigma(u):
        return (u**3 - 3 * u) / np.sqrt(6) + 0.5 * (u**2 - 1) / np.sqrt(2)

    X = rng.normal(size=(400_000, 7))
    values = -np.sum(sigma(X @ W_star), axis=1) * np.sum(sigma(X @ W), axis=1)
    _mc_check(values, exact)


def test_planted_risk_vs_monte_carlo():
    algo = make_algorithm("planted", "h2(z1) + h3(z2)")
    rng = np.random.default_rng(2)
    W_star = np.zeros((6, 2))
    W_star[:2] = np.eye(2)
    W, _ = np.linalg.qr(rng.normal(size=(6, 2)) + 2 * W_star)
    exact = float(algo.risk(jnp.asarray(W_star.T @ W), jnp.eye(2), {}))

    def f(z):
        return (z[:, 0] ** 2 - 1) / np.sqrt(2) + (z[:, 1] ** 3 - 3 * z[:, 1]) / np.sqrt(6)

    X = rng.normal(size=(400_000, 6))
    _mc_check(0.5 * (f(X @ W) - f(X @ W_star)) ** 2, exact)


# ----------------------------------------------------------------------------- ridge link fit


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_ridge_fit_matches_averaging_operator(ridge):
    """Large-batch ridge fit on Hermite features of W^T x = q/(q+mu) (A_{M^T} f*)_beta (docs/math/grassmannian-flow.md §1.3, docs/math/finite-sample.md §1.8)."""
    algo = make_algorithm("two-timescale", "h2(z1) + h3(z2) + 0.5*z1*z2", degree=3, ridge=ridge, fit_batch=100)
    rng = np.random.default_rng(3)
    W_star = np.zeros((6, 2))
    W_star[:2] = np.eye(2)
    W, _ = np.linalg.qr(rng.normal(size=(6, 2)) + 1.2 * W_star)
    M = W_star.T @ W
    n = 200_000
    X = rng.normal(size=(n, 6))
    lam, z = X @ W, X @ W_star
    y = np.asarray(algo.labels(jnp.asarray(z)))
    theta = np.asarray(algo.fit({"theta": jnp.zeros(10)}, jnp.asarray(lam), jnp.asarray(y))["theta"])
    exact = averaged_spectrum(algo.spectrum, M.T).values
    degrees = algo.spectrum.multi_indices.sum(axis=1)
    shrink = 0.5**degrees / (0.5**degrees + ridge)
    target = shrink * exact
    phi, _ = hermite_features(jnp.asarray(lam), np.asarray(algo.spectrum.multi_indices), 3)
    residual = y - np.asarray(phi) @ (exact)
    se = np.std(residual) / np.sqrt(n) * np.maximum(shrink, 1e-3) * 1.5  # features nearly orthonormal
    assert np.all(np.abs(theta - target) < 5 * se + 1e-12), (theta, target, se)


# ----------------------------------------------------------------------------- link fit from moment draws (issue 17)


def _fresh_and_moment_thetas(link, n, draws, M, Q, **opts):
    """``draws`` fits of each kind at the fixed overlaps ``(M, Q)``: exact samples vs the moment draw."""
    fresh = make_algorithm("two-timescale", link, link_fit="fresh", fit_batch=n, **opts)
    moments = make_algorithm("two-timescale", link, link_fit="moments", fit_batch=n, **opts)
    params = {"theta": jnp.zeros(len(fresh.params0["theta"]))}
    keys = jax.random.split(jax.random.PRNGKey(11), draws)

    def exact(k):
        k1, k2 = jax.random.split(k)
        _, Z, lam = reduced_local_fields(fresh, M, Q, k1, n)
        y = fresh.labels(Z) + fresh.noise * jax.random.normal(k2, (n,))
        return fresh.fit(params, lam, y)["theta"]

    drawn = jax.vmap(lambda k: moments.fit_overlaps(params, M, Q, k)["theta"])
    return np.asarray(jax.jit(jax.vmap(exact))(keys)), np.asarray(jax.jit(drawn)(keys))


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_moment_fit_has_the_law_of_the_fresh_fit(noise):
    """link_fit="moments" draws (Sigma_hat, c_hat) with the exact mean and covariance of a fresh batch of
    n = 2000 samples: the fitted coefficients have the fresh fit's mean (within 4 SE of 2000 draws) and
    standard deviation (within 10 %; the non-Gaussian part of the law is O(n^-1/2)). With n = 100 the
    Gaussian law of Sigma_hat is far off (std 10x too large): the test can fail."""
    M, Q = jnp.array([[0.3]]), jnp.eye(1)
    fresh, drawn = _fresh_and_moment_thetas("h2", 2000, 2000, M, Q, noise=noise)
    se = np.sqrt(fresh.var(0) / len(fresh) + drawn.var(0) / len(drawn))
    assert np.all(np.abs(fresh.mean(0) - drawn.mean(0)) < 4 * se), (fresh.mean(0), drawn.mean(0), se)
    np.testing.assert_allclose(drawn.std(0), fresh.std(0), rtol=0.10)
    assert abs(fresh.mean(0)[2] - 0.09) < 4 * se[2]  # theta_2 -> c_2(h2) m^2 = 0.3^2


def test_moment_fit_escape_times_match_the_fresh_fit():
    """Two-timescale SGD on h2 at d = 30 (eta = 0.2/d, 64 seeds, reduced engine): the escape times
    (first |m| >= 1/2, censored at the budget) with the link refitted every step on 1000 fresh samples and
    with the moment draw of the same fit agree within 4 combined standard errors over seeds, and so do the
    escaped fractions."""
    d, seeds, steps = 30, 64, 2500

    def escapes(link_fit):
        algo = make_algorithm("two-timescale", "h2", link_fit=link_fit, fit_batch=1000)
        tr = train_online(algo, d=d, steps=steps, lr=0.2 / d, seeds=seeds, n_save=250, save_grid="linear",
                          chunk=steps)
        hit = np.abs(tr.M[:, :, 0, 0]) >= 0.5
        return tr.t[np.where(hit.any(1), hit.argmax(1), len(tr.t) - 1)], hit.any(1)

    (t_f, ok_f), (t_m, ok_m) = escapes("fresh"), escapes("moments")
    se = np.sqrt(t_f.var(ddof=1) / seeds + t_m.var(ddof=1) / seeds)
    assert 0.3 < ok_f.mean() < 1.0  # a real race: some seeds escape within the budget, not all
    assert abs(t_f.mean() - t_m.mean()) < 4 * se, (t_f.mean(), t_m.mean(), se)
    p = 0.5 * (ok_f.mean() + ok_m.mean())
    assert abs(ok_f.mean() - ok_m.mean()) < 4 * np.sqrt(2 * p * (1 - p) / seeds)


# ----------------------------------------------------------------------------- reduced chain vs d-dim, in law


@pytest.mark.parametrize("B, p", [(1, 3), (2, 3), (5, 2)])
def test_orthogonal_part_matches_direct_simulation(B, p):
    """A^T X P_perp X^T A of the reduced chain (Bartlett / Wishart, no d-dim array) vs A^T Y^T Y A with
    Y (dof, B) i.i.d. Gaussian, entry by entry (KS, level 1e-3)."""
    rng = np.random.default_rng(B + 10 * p)
    A = jnp.asarray(rng.normal(size=(B, p)))
    dof, n = 7, 20_000
    m = orthogonal_part_draws(B, p)

    def one(key):
        k1, k2 = jax.random.split(key)
        return orthogonal_part(k1, jax.random.normal(k2, (m,)), float(dof), A)

    X = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.PRNGKey(1), n)))
    Y = rng.normal(size=(n, dof, B))
    T = np.einsum("bp,sib,sic,cq->spq", np.asarray(A), Y, Y, np.asarray(A))
    for i in range(p):
        for j in range(i, p):
            assert ks_2samp(X[:, i, j], T[:, i, j]).pvalue > KS_LEVEL


def test_chi_square_sampler():
    """The reduced chain's chi-square draws (Marsaglia-Tsang) against scipy's chi2 law (KS, level 1e-3)."""
    from scipy import stats

    draw = jax.jit(jax.vmap(chi2, in_axes=(0, None)))
    for dof in (1.0, 3.0, 997.0):
        x = np.asarray(draw(jax.random.split(jax.random.PRNGKey(4), 100_000), dof))
        assert stats.kstest(x, "chi2", args=(dof,)).pvalue > KS_LEVEL


def test_block_chi_square_sampler_and_block_independence():
    """The engine's per-block chi-squares (one proposal, compact rejection loop, boost for dof < 2) against
    scipy's chi2 law (KS, level 1e-3); a step's numbers do not depend on the block it is drawn in."""
    from scipy import stats

    keys = jax.random.split(jax.random.PRNGKey(5), 250)
    steps = jnp.arange(200)
    algo = make_algorithm("planted", "h3")
    draw = jax.jit(lambda k, s, d: reduced_block_randomness(algo, 1, d, k, s))
    for d in (1000.0, 4.0, 3.5):  # dof 998; 2 (rejections ~5%: many passes of the loop); 1.5 (boost)
        _, c = draw(keys, steps, jnp.float64(d))
        x = np.asarray(c).ravel()
        assert stats.kstest(x, "chi2", args=(d - 2,)).pvalue > KS_LEVEL
    n1, c1 = reduced_block_randomness(algo, 1, 3.5, keys[3:5], steps[7:9])
    n2, c2 = reduced_block_randomness(algo, 1, 3.5, keys, steps)
    np.testing.assert_array_equal(np.asarray(c1), np.asarray(c2[7:9, 3:5]))
    np.testing.assert_array_equal(np.asarray(n1), np.asarray(n2[7:9, 3:5]))


def _law_pvalues(algo, d, steps, lr, batch, seeds):
    runs = {eng: train_online(algo, d=d, steps=steps, lr=lr, batch=batch, seeds=seeds, engine=eng, n_save=3,
                              save_grid="linear", key=jax.random.PRNGKey(11 if eng == "full" else 12))
            for eng in ("reduced", "full")}
    stats = []
    for k in (1, 2):
        stats.append(lambda tr, k=k: tr.M[:, k, 0, 0])
        stats.append(lambda tr, k=k: tr.M[:, k, -1, -1])
        stats.append(lambda tr, k=k: tr.loss[:, k])
        if runs["full"].Q is not None:
            stats.append(lambda tr, k=k: tr.Q[:, k, 0, -1])
    return [ks_2samp(s(runs["reduced"]), s(runs["full"])).pvalue for s in stats]


@pytest.mark.parametrize("d", [12, 40])
def test_reduced_chain_matches_full_simulation_in_law(d):
    """Planted h2 SGD: overlap and risk distributions at fixed steps agree (two-sample KS, level 1e-3)."""
    algo = make_algorithm("planted", "h2")
    p = _law_pvalues(algo, d, 200, 0.02, 1, 500)
    assert min(p) > KS_LEVEL, p


@pytest.mark.slow
def test_reduced_chain_matches_full_simulation_in_law_sphere():
    """Correlation neurons on the sphere (non-orthogonal teacher): M, Q and risk laws agree (KS, level 1e-3)."""
    algo = make_algorithm("correlation", "h3", teacher_neurons=2, student_neurons=2, beta=0.3)
    p = _law_pvalues(algo, 30, 100, 0.02, 1, 300)
    assert min(p) > KS_LEVEL, p


@pytest.mark.slow
@pytest.mark.parametrize("name, link, opts, d, lr, batch", [
    ("two-timescale", "h2(z1) + h3(z2)", dict(degree=3, fit_batch=100), 30, 0.02, 2),
    ("two-timescale", "h3", dict(degree=4, link_fit="running", fit_batch=200), 30, 0.02, 1),
    ("correlation", "h3", dict(teacher_neurons=2, student_neurons=2, beta=0.3), 30, 0.02, 1),
    ("committee", "erf(z1) + erf(z2)", dict(student_width=2, constraint="free", train_second_layer=True), 30, 0.05, 3),
    ("planted", "h2(z1) + h3(z2)", {}, 60, 0.01, 4),
])
def test_reduced_chain_matches_full_simulation_in_law_all(name, link, opts, d, lr, batch):
    p = _law_pvalues(make_algorithm(name, link, **opts), d, 300, lr, batch, 1000)
    assert min(p) > KS_LEVEL, p


# ----------------------------------------------------------------------------- convergence to the population ODE


def test_convergence_to_population_ode_as_d_grows():
    """Planted SGD with eta = 0.5 d^-1.5 (f* = h1 + h2, no search phase): max |M - M_flow| up to t = 1
    shrinks with d (log-log slope < -0.35; fluctuations ~ sqrt(eta t) ~ d^-3/4, bias ~ eta d ~ d^-1/2)."""
    algo = make_algorithm("planted", "z + h2(z)")
    ds = [64, 256, 1024]
    devs = []
    for d in ds:
        eta = 0.5 * d**-1.5
        steps = int(round(1.0 / eta))
        traj = train_online(algo, d=d, steps=steps, lr=eta, seeds=6, n_save=30, chunk=200_000)
        ref = population_reference(algo, traj)
        devs.append(float(np.median(max_deviation(traj, ref))))
    slope = np.polyfit(np.log(ds), np.log(devs), 1)[0]
    assert slope < -0.35, (devs, slope)
    assert devs[-1] < devs[0] / 4, devs


def test_correlation_sgd_follows_the_neuron_ode():
    """Correlation neurons (beta = 0.3, sigma = h1 + h2/2): SGD with eta = 0.3 d^-1.5 against
    m' = (P - m m^T) g'(m) from the same M(0): the deviation shrinks with d, and the ODE reaches the
    maximum of sum_j g(v_j^T w) over unit w, w = (v1 + v2)/|v1 + v2| (loss -2 * 2 g(sqrt(0.65)))."""
    algo = make_algorithm("correlation", "z + 0.5*h2(z)", teacher_neurons=2, student_neurons=2, beta=0.3)
    devs = []
    for d in (100, 400):
        eta = 0.3 * d**-1.5
        traj = train_online(algo, d=d, steps=int(round(3.0 / eta)), lr=eta, seeds=4, n_save=20, chunk=200_000)
        ref = population_reference(algo, traj)
        devs.append(float(np.median(max_deviation(traj, ref))))
    assert devs[1] < devs[0] / 1.5 and devs[1] < 0.05, devs
    m = np.sqrt(0.65)
    # at t = 3 the flow is within ~1e-5 of its limit (exponential approach; rel 1e-4 leaves room for it)
    assert ref.loss[:, -1] == pytest.approx(-4 * (m + 0.25 * m**2), rel=1e-4)


# ----------------------------------------------------------------------------- full-batch GD


def test_full_batch_gd_learns_and_maps_time():
    algo = make_algorithm("planted", "z + h2(z)")
    traj = train_full_batch(algo, d=30, n_samples=Scaling(20.0, 1.0), steps=300, lr=0.05, seeds=2, n_save=6)
    assert traj.info["n_samples"] == 600 and traj.t[-1] == pytest.approx(15.0)
    assert np.all(traj.loss[:, -1] < 0.1 * traj.loss[:, 0])
    assert np.all(np.abs(traj.M[:, -1, 0, 0]) > 0.9)


# ----------------------------------------------------------------------------- bad input


def test_bad_hyperparameters_give_clear_errors():
    algo = make_algorithm("planted", "h2")
    with pytest.raises(MimflowError, match="learning rate must be positive"):
        train_online(algo, d=50, steps=10, lr=-0.1)
    with pytest.raises(MimflowError, match="too large for d"):
        train_online(algo, d=400, steps=10, lr=0.5)
    with pytest.raises(MimflowError, match="d = 2 is too small"):
        train_online(algo, d=2, steps=10, lr=0.01)
    with pytest.raises(MimflowError, match="engine"):
        train_online(algo, d=50, steps=10, lr=0.01, engine="fast")
    with pytest.raises(MimflowError, match="batch"):
        train_online(algo, d=50, steps=10, lr=0.01, batch=0)
    with pytest.raises(MimflowError, match="seeds"):
        train_online(algo, d=50, steps=10, lr=0.01, seeds=[1, 1])
    with pytest.raises(MimflowError, match="lr"):
        train_online(algo, d=50, steps=10, lr=float("nan"))
    with pytest.raises(MimflowError, match="unknown algorithm"):
        make_algorithm("adam", "h2")
    with pytest.raises(MimflowError, match="fit_batch"):
        make_algorithm("two-timescale", "h2(z1) + h3(z2)", degree=3, fit_batch=5)
    with pytest.raises(MimflowError, match="beta"):
        make_algorithm("correlation", "h3", teacher_neurons=3, beta=1.5)
    with pytest.raises(MimflowError, match="one-variable"):
        make_algorithm("correlation", "z1*z2")


def test_divergence_is_reported_not_stored():
    """A free linear committee with lr * d = 10 > 2 explodes: MimflowError naming the step size, no NaN returned."""
    algo = make_algorithm("committee", "z1 + z2", student_width=2, activation="z", constraint="free")
    with pytest.raises(MimflowError, match="step size"):
        train_online(algo, d=20, steps=3000, lr=0.5, seeds=2, n_save=5)


# ----------------------------------------------------------------------------- command line


def test_train_command_json_and_reproducible(capsys):
    args = ["train", "h2", "--algorithm", "planted", "--d", "40,80", "--steps", "100", "--lr", "0.4",
            "--lr-exponent", "1", "--seeds", "2", "--compare-theory", "--json", "--n-save", "5"]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    data = json.loads(out)
    assert set(data["max_deviation_from_theory"]) == {"40", "80"}
    assert isinstance(data["t"], dict) and len(data["t"]["40"]) == 5
    assert data["t"]["40"][-1] == pytest.approx(100 * 0.01)
    assert len(data["runs"]) == 4 and {"final_M", "final_loss", "max_deviation_from_theory"} <= set(data["runs"][0])
    code2, out2, _ = run_cli(capsys, *args)
    again = json.loads(out2)
    assert again["runs"] == data["runs"] and again["max_deviation_from_theory"] == data["max_deviation_from_theory"]


def test_train_command_errors(capsys):
    code, out, err = run_cli(capsys, "train", "h2", "--algorithm", "planted", "--d", "400", "--lr", "5")
    assert code == 2 and "too large" in err and "Traceback" not in err
    code, out, err = run_cli(capsys, "train", "h2", "--algorithm", "committee", "--n-samples", "2")
    assert code == 2 and "--engine full" in err


def test_batch_flag_is_an_alias_of_batch_size(capsys):
    """``mimflow train --batch B`` (the issue's spelling) sets ``batch_size``; ``batch`` itself is reserved."""
    code, out, err = run_cli(capsys, "train", "h3", "--algorithm", "planted", "--d", "100", "--steps", "10",
                             "--lr", "0.05", "--batch", "4", "--show-config")
    assert code == 0, err
    assert "batch_size = 4" in out
