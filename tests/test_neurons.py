"""Correlation-loss neurons (docs/math/neurons.md §2): reduced ODE vs d-dimensional flows, theory vs simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

from mimflow import MimflowError
from mimflow.dynamics import (
    check_gram,
    classify_neuron_end_points,
    correlation_flow,
    equiangular_gram,
    gram_factor,
    neuron_initial_overlaps,
    neuron_vector_field,
    solve_network_correlation_flow,
    solve_flow,
    solve_neurons,
    solve_spherical_neurons,
)
from mimflow import theory as th


def _gh_correlation(sigma_star, sigma, n_nodes=80):
    """g(m) = E[sigma*(u) sigma(m u + sqrt(1-m^2) z)] by a product Gauss-Hermite rule (NumPy, test-local)."""
    x, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    w = w / math.sqrt(2 * math.pi)

    def g(m):
        inner = sigma(m * x[:, None] + math.sqrt(max(1 - m * m, 0.0)) * x[None, :])
        return float(np.sum(w[:, None] * w[None, :] * sigma_star(x)[:, None] * inner))

    return g


def he(n):
    c = np.zeros(n + 1)
    c[n] = 1.0
    return lambda z: np.polynomial.hermite_e.hermeval(z, c) / math.sqrt(math.factorial(n))


# ---------------------------------------------------------------------- reduced ODE vs d dimensions


def test_reduced_ode_matches_d_dimensional_flows():
    """m(t) of the k-dim ODE = V^T w(t) of the d-dim spherical flow: trajectory against scipy DOP853
    (general Gram matrix, mixed link), escape times, stop status and end points against the d-dim
    flow run by the same solver."""
    d, k = 120, 3
    a = th.correlation_coefficients("h3(z) + 0.5*h4(z)")
    Q = equiangular_gram(k, 0.2)
    V = np.zeros((d, k))
    V[:k] = gram_factor(Q)  # V = U R with U the first k coordinates
    rng = np.random.default_rng(1)
    W0 = rng.standard_normal((8, d))
    W0[0, :k] = np.abs(W0[0, :k]) + 1.5  # neuron 0: a quick escape, followed by scipy
    W0 /= np.linalg.norm(W0, axis=1, keepdims=True)
    gp = np.polynomial.Polynomial(a).deriv()

    def full(t, w):
        grad = V @ gp(V.T @ w)
        return grad - w * (w @ grad)

    ts = np.array([0.5, 1.0, 2.0, 2.5, 3.0])
    ref = integrate.solve_ivp(full, (0, ts[-1]), W0[0], method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-14)
    m_ref = (V.T @ ref.y).T
    assert m_ref[-1].max() > 0.5  # the trajectory goes through the escape
    red = solve_neurons(a, Q, (W0 @ V)[None], t_max=1e5, save_times=ts, rtol=1e-10)
    assert red.t_stop[0, 0] > ts[-1]  # ... and stops (converged) after the last compared time
    np.testing.assert_allclose(red.saved[0, 0], m_ref, atol=2e-8)
    sph = solve_spherical_neurons(a, V, W0, t_max=1e5, save_times=ts, rtol=1e-10)
    np.testing.assert_allclose(sph.saved[0, 0], m_ref, atol=2e-8)
    np.testing.assert_allclose(sph.info["final_norms"], 1.0, atol=1e-7)
    assert red.converged.sum() >= 6  # (a neuron may drift towards w ⊥ V and stop at t_max: compared too)
    np.testing.assert_allclose(red.escape_time, sph.escape_time, rtol=1e-7)
    np.testing.assert_array_equal(red.status, sph.status)
    np.testing.assert_allclose(red.m, sph.m, atol=1e-7)


@pytest.mark.slow
def test_network_on_population_correlation_loss_matches_reduced_ode():
    """Third view: n neurons in d dims, loss by quadrature of the links (no Hermite series), jax.grad."""
    import jax.numpy as jnp

    d, k, n = 40, 2, 3
    sigma = "h3(z) + 0.5*h4(z)"
    a = th.correlation_coefficients(sigma)
    Q = equiangular_gram(k, 0.3)
    V = np.zeros((d, k))
    V[:k] = gram_factor(Q)
    rng = np.random.default_rng(3)
    W0 = rng.standard_normal((n, d))
    W0[:, :k] += 1.0
    W0 /= np.linalg.norm(W0, axis=1, keepdims=True)
    ts = np.array([0.2, 0.5, 1.0, 2.0])

    def act(z):
        return (z**3 - 3 * z) / jnp.sqrt(6.0) + 0.5 * (z**4 - 6 * z**2 + 3) / jnp.sqrt(24.0)

    net = solve_network_correlation_flow(act, act, V, W0, t_max=ts[-1], save_times=ts)
    red = solve_neurons(a, Q, (W0 @ V)[None], t_max=ts[-1], save_times=ts, rtol=1e-10, conv_tol=0.0)
    np.testing.assert_allclose(net, np.moveaxis(red.saved[0], 1, 0), atol=1e-7)
    assert np.abs(net[-1] - net[0]).max() > 0.1


def test_vector_field_keeps_overlaps_on_the_sphere_shadow():
    """For Q = I, d/dt |m|^2 = 2 m.g'(m) (1 - |m|^2): the unit sphere of span(V) is invariant."""
    a = np.array([0.0, 0.0, 0.3, 1.0, 0.2])
    m = np.array([0.6, 0.0, -0.8])
    F = np.asarray(neuron_vector_field(m, a, np.eye(3)))
    assert abs(m @ F) < 1e-14


def test_solve_neurons_is_the_correlation_flow():
    """solve_neurons (batched DOPRI per neuron) and solve_flow of correlation_flow (Rosenbrock on M = V^T W,
    columns = neurons) integrate the same vector field: they agree to the solvers' tolerances."""
    a = np.array([0.0, 0.2, 0.0, 1.0])
    Q = equiangular_gram(3, 0.3)
    m0 = neuron_initial_overlaps(Q, 40, 4, [0, 1])  # (S, n, k)
    ts = np.array([0.5, 2.0, 6.0])
    run = solve_neurons(a, Q, m0, t_max=ts[-1], save_times=ts, rtol=1e-10, conv_tol=0.0)
    flow = correlation_flow(a, Q, neurons=4)
    traj = solve_flow(flow, np.swapaxes(m0, 1, 2), t_max=ts[-1], d=40, times=np.concatenate([[0.0], ts]),
                      rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(np.swapaxes(traj.M[:, 1:], 2, 3), np.swapaxes(run.saved, 1, 2), atol=1e-6)
    assert np.abs(run.saved[..., -1, :] - m0).max() > 0.05
    # the loss of the flow is the population correlation loss -sum_ij g(M_ij)
    g = np.polynomial.polynomial.polyval(traj.M[:, -1], a)
    np.testing.assert_allclose(traj.loss[:, -1], -g.sum(axis=(1, 2)), rtol=1e-12)
    ds = run.to_dataset(seeds=[0, 1])
    assert dict(ds.sizes) == {"seed": 2, "neuron": 4, "index": 3, "t": 4}
    assert ds["m"].dims == ("seed", "neuron", "t", "index") and ds["escape_time"].dims == ("seed", "neuron")
    np.testing.assert_array_equal(ds["m"].values[:, :, 0], m0)


# ---------------------------------------------------------------------- initial overlaps


def test_initial_overlaps_exact_law():
    """Q = I: m_1^2 ~ Beta(1/2, (d-1)/2) exactly (first coordinate of a uniform unit vector)."""
    d = 30
    m = neuron_initial_overlaps(np.eye(2), d, 4000, [0, 1])
    res = stats.kstest(m[..., 0].ravel() ** 2, stats.beta(0.5, (d - 1) / 2).cdf)
    assert res.pvalue > 1e-3
    # general Gram: E[m m^T] = Q / d, checked entrywise within 5 standard errors
    Q = equiangular_gram(3, 0.4)
    m = neuron_initial_overlaps(Q, 50, 20000, [7]).reshape(-1, 3)
    prod = m[:, :, None] * m[:, None, :] * 50
    se = prod.std(axis=0) / math.sqrt(len(m))
    assert np.all(np.abs(prod.mean(axis=0) - Q) < 5 * se)
    # reproducible, and a seed does not depend on the others requested
    np.testing.assert_array_equal(neuron_initial_overlaps(Q, 50, 5, [3, 7])[1], neuron_initial_overlaps(Q, 50, 5, [7])[0])


# ---------------------------------------------------------------------- beta_c


@pytest.mark.parametrize("p", [3, 4, 5])
@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_beta_c_pure_hermite_closed_form(p, k):
    a = th.correlation_coefficients(f"2*h{p}(z)")
    res = th.beta_critical(a, k)
    assert res.beta_c == pytest.approx((p - 2) / (k + p - 2), abs=1e-12)
    assert res.closed_form == pytest.approx((p - 2) / (k + p - 2), abs=1e-15)


@pytest.mark.parametrize("link,k", [
    ("h3(z) + 0.5*h4(z)", 4),
    pytest.param("h4(z) + 0.7*h6(z)", 3, marks=pytest.mark.slow),
    pytest.param("h3(z) - 0.4*h5(z)", 3, marks=pytest.mark.slow),
])
def test_beta_c_mixed_link_against_finite_difference_hessian(link, k):
    """Independent: g by 2-D quadrature of the links, the Hessian of L on the sphere at the average point
    by central differences along the geodesic towards v_1 - v_2, and its sign change found by brentq."""
    from mimflow.targets import make_link

    f = make_link(link)
    sig = lambda z: np.asarray(f(np.asarray(z)[..., None]))  # noqa: E731
    g = _gh_correlation(sig, sig)

    def curvature(beta):
        Q = equiangular_gram(k, beta)
        V = gram_factor(Q)  # columns: index vectors in R^k
        wbar = V.sum(axis=1)
        wbar /= np.linalg.norm(wbar)
        u = V[:, 0] - V[:, 1]
        u /= np.linalg.norm(u)

        def L(t):
            w = math.cos(t) * wbar + math.sin(t) * u
            return -sum(g(float(v @ w)) for v in V.T)

        h = 1e-3
        return (L(h) - 2 * L(0.0) + L(-h)) / h**2

    grid = np.linspace(0.01, 0.95, 48)
    vals = np.array([curvature(b) for b in grid])
    i = np.nonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0][-1]
    root = optimize.brentq(curvature, grid[i], grid[i + 1], xtol=1e-10)
    res = th.beta_critical(th.correlation_coefficients(link), k)
    assert res.beta_c == pytest.approx(root, abs=2e-5)
    assert res.closed_form is None


def test_beta_c_separates_saddle_and_minimum_in_simulation():
    """Neurons started near the average point leave it below beta_c and converge to it above."""
    k = 3
    a = th.correlation_coefficients("h3")
    bc = th.beta_critical(a, k).beta_c  # 0.25
    rng = np.random.default_rng(0)
    for beta, expect in ((bc - 0.05, "index vector"), (bc + 0.05, "average")):
        Q = equiangular_gram(k, beta)
        mbar = math.sqrt((1 + (k - 1) * beta) / k)
        m0 = mbar * np.ones((20, k)) + 1e-3 * rng.standard_normal((20, k)) @ Q
        run = solve_neurons(a, Q, m0[None], t_max=1e5)
        _, _, label = classify_neuron_end_points(run.m, run.converged)
        assert np.all(label == expect)


# ---------------------------------------------------------------------- fixed points (Q = I)


@pytest.mark.parametrize("p", [3, 4, 6])
def test_fixed_point_classification_against_math_2_3(p):
    k = 3
    a = th.correlation_coefficients(f"h{p}")
    fps = th.orthogonal_fixed_points(a, k)
    # all signs for even p, all-equal signs for odd p
    expected_count = 3**k - 1 if p % 2 == 0 else 2 * (2**k - 1)
    assert len(fps) == expected_count
    for fp in fps:
        s = len(fp.support)
        if all(sg == 1 for sg in fp.signs) or p % 2 == 0:
            along = -p * (p - 2) * s ** (1 - p / 2)
            across = p * s ** (1 - p / 2)
            expect = sorted([along] * (s - 1) + [across] * (k - s))
            np.testing.assert_allclose(sorted(fp.inside_curvatures), expect, atol=1e-12)
            assert fp.complement_curvature == pytest.approx(across, abs=1e-12)
            assert fp.descent_directions == s - 1
            assert fp.kind == ("minimum" if s == 1 else "saddle")
        else:  # odd p, all signs -: -v_j is a maximum of L... the sign-flipped points
            assert fp.complement_curvature < 0
    minima = [fp for fp in fps if fp.kind == "minimum"]
    assert len(minima) == (2 * k if p % 2 == 0 else k)


@pytest.mark.parametrize("link", ["h3", "h4", pytest.param("h5(z) + 0.3*h3(z)", marks=pytest.mark.slow)])
def test_nearest_index_vector_rule_matches_simulation(link):
    a = th.correlation_coefficients(link)
    m0 = neuron_initial_overlaps(np.eye(3), 1000, 64, [0])
    run = solve_neurons(a, np.eye(3), m0, t_max=1e6)
    index, sign, _ = classify_neuron_end_points(run.m, run.converged)
    rule_index, rule_sign = th.nearest_index_vector(a, m0)
    np.testing.assert_array_equal(index, rule_index)
    np.testing.assert_array_equal(sign, rule_sign)


# ---------------------------------------------------------------------- coverage


@pytest.mark.parametrize("link,k,n", [("h4", 3, 4), ("h3", 3, 5), pytest.param("h3", 4, 8, marks=pytest.mark.slow)])
def test_coverage_formula_against_simulation(link, k, n):
    a = th.correlation_coefficients(link)
    S = 400
    m0 = neuron_initial_overlaps(np.eye(k), 2000, n, list(range(S)))
    run = solve_neurons(a, np.eye(k), m0, t_max=1e6)
    index, _, _ = classify_neuron_end_points(run.m, run.converged)
    found = np.array([[np.any(index[s] == j) for j in range(k)] for s in range(S)])
    sim = found.all(axis=1).mean()
    formula = th.coverage_probability(k, n, th.success_probability(a, k))
    se = math.sqrt(formula * (1 - formula) / S)
    assert abs(sim - formula) < 4.5 * se
    # the per-neuron success probability as well
    ps = th.success_probability(a, k)
    assert abs(np.mean(index >= 0) - ps) < 4.5 * math.sqrt(max(ps * (1 - ps), 1e-12) / index.size) + 1e-12


def test_coverage_formula_edge_cases():
    assert th.coverage_probability(1, 1) == 1.0
    assert th.coverage_probability(3, 2) == 0.0
    assert th.coverage_probability(2, 3) == pytest.approx(0.75)
    assert th.expected_neurons_needed(4) == pytest.approx(4 * (1 + 1 / 2 + 1 / 3 + 1 / 4))
    # n ~ k log k: at n = 2 k ln k the probability stays high, at n = 2k it falls with k
    assert th.coverage_probability(50, int(2 * 50 * math.log(50))) > 0.8
    assert th.coverage_probability(50, 100) < th.coverage_probability(5, 10)


# ---------------------------------------------------------------------- search phase


def _median_escape(link, d, k=2, n=400):
    a = th.correlation_coefficients(link)
    m0 = neuron_initial_overlaps(np.eye(k), d, n, [0])
    run = solve_neurons(a, np.eye(k), m0, t_max=1e4 * max(d ** 0.5, 10), rtol=1e-7, conv_tol=1e-6)
    e = run.escape_time[np.isfinite(run.escape_time)]
    return float(np.median(e))


@pytest.mark.parametrize("link,slope", [("h3", 0.5), ("h4", 1.0)])
def test_search_time_loglog_slope(link, slope):
    ds = [10**4, 10**5, 10**6]
    med = [_median_escape(link, d) for d in ds]
    fitted = np.polyfit(np.log(ds), np.log(med), 1)[0]
    assert fitted == pytest.approx(slope, abs=0.03)
    # and the level: theory's median (exact integral at the median initial overlap), 4 SE of a median of 400
    a = th.correlation_coefficients(link)
    pred = th.search_time_prediction(a, 2, ds[-1])["neuron_median"]
    assert med[-1] == pytest.approx(pred, rel=0.2)


def test_search_time_p2_grows_like_log_d():
    ds = [10**4, 10**6]
    med = [_median_escape("h2", d) for d in ds]
    # T ~ ln(1/m0)/(2 a_2), m0 ~ d^{-1/2}: dT/d(ln d) = 1/(4 a_2) = 1/4
    assert (med[1] - med[0]) / math.log(100) == pytest.approx(0.25, abs=0.02)


def test_search_time_formulas():
    a = np.array([0, 0, 0, 2.0])
    assert th.neuron_search_time(a, 0.01, exact=False) == pytest.approx(100 / (3 * 2.0))
    exact = integrate.quad(lambda m: 1 / ((1 - m * m) * 6.0 * m * m), 0.01, 0.5, epsrel=1e-12)[0]
    assert th.neuron_search_time(a, 0.01) == pytest.approx(exact, rel=1e-9)
    assert th.search_time_exponent(3) == 0.5 and th.search_time_exponent(2) == 0.0


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("Q,match", [
    ([[1.0, 0.5], [0.4, 1.0]], "symmetric"),
    ([[1.0, 0.0], [0.0, 2.0]], "unit diagonal"),
    ([[1.0, 1.5], [1.5, 1.0]], "positive semi-definite"),
    ([[1.0, 0.0, 0.0]], "square"),
])
def test_bad_gram(Q, match):
    with pytest.raises(MimflowError, match=match):
        check_gram(np.array(Q))


def test_bad_theory_input():
    with pytest.raises(MimflowError, match="k must"):
        th.coverage_probability(0, 3)
    with pytest.raises(MimflowError, match="n"):
        th.coverage_probability(3, 0)
    with pytest.raises(MimflowError, match="one parity"):
        th.nearest_index_vector(th.correlation_coefficients("h3(z) + h4(z)"), np.zeros((1, 2)))
    with pytest.raises(MimflowError, match="d = 2"):
        neuron_initial_overlaps(np.eye(3), 2, 4, [0])
